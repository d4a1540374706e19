import { describe, expect, it } from "vitest";
import { ProtoWriter } from "#shared/onnx/protobuf-writer.ts";

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString("hex");

describe("ProtoWriter", () => {
  it("encodes varints, including negative int64 as ten bytes", () => {
    expect(hex(new ProtoWriter().varintField(1, 150).finish())).toBe("089601");
    expect(hex(new ProtoWriter().varintField(2, -1).finish())).toBe("10ffffffffffffffffff01");
    expect(hex(new ProtoWriter().varintField(20, 7).finish())).toBe("a00107");
  });

  it("encodes strings, nested messages and packed fields", () => {
    expect(hex(new ProtoWriter().stringField(2, "testing").finish())).toBe("120774657374696e67");
    expect(hex(new ProtoWriter().messageField(3, (w) => w.varintField(1, 150)).finish())).toBe("1a03089601");
    expect(hex(new ProtoWriter().packedVarints(4, [3, 270, 86942]).finish())).toBe("2206038e029ea705");
    expect(hex(new ProtoWriter().packedFloats(4, [1, -2]).finish())).toBe("22080000803f000000c0");
    expect(hex(new ProtoWriter().floatField(2, 0.5).finish())).toBe("150000003f");
  });
});
