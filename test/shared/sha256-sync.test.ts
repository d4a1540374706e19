import { createHash, randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { sha256HexOfBytes, sha256HexSync } from "#shared/sha256-sync.ts";

const reference = (bytes: Uint8Array | string) => createHash("sha256").update(bytes).digest("hex");

describe("sha256HexSync", () => {
  it("matches the FIPS 180-4 test vectors", () => {
    expect(sha256HexSync("")).toBe("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    expect(sha256HexSync("abc")).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    expect(sha256HexSync("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")).toBe(
      "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
    );
  });

  it("equals node's digest at every length across the padding's block boundaries", () => {
    for (let length = 0; length <= 300; length++) {
      const bytes = new Uint8Array(randomBytes(length));
      expect(sha256HexOfBytes(bytes), `length ${length}`).toBe(reference(bytes));
    }
  });

  it("hashes ASCII strings of every length, short and past its buffer, as their bytes", () => {
    for (let length = 0; length <= 1_100; length += length < 200 ? 1 : 37) {
      const text = Array.from({ length }, (_, i) => String.fromCharCode(32 + ((i * 7 + length) % 95))).join(
        "",
      );
      expect(sha256HexSync(text), `length ${length}`).toBe(reference(text));
    }
  });

  it("hashes a string's UTF-8 bytes, non-ASCII included", () => {
    for (const text of ["é", "日本語のトークン", "emoji 🧪 and more", "a".repeat(1_000)]) {
      expect(sha256HexSync(text)).toBe(reference(text));
    }
  });
});
