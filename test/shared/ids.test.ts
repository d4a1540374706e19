import { describe, expect, it } from "vitest";
import { idPattern, newId, randomToken } from "#shared/ids.ts";

describe("ids", () => {
  it("are distinct and match their kind's pattern across many refills of the random pool", () => {
    const ids = Array.from({ length: 5_000 }, () => newId("prediction"));
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids) expect(id).toMatch(idPattern("prediction"));
  });

  it("draws every character of the alphabet about equally often", () => {
    const counts = new Map<string, number>();
    const text = randomToken(360_000);
    for (const ch of text) counts.set(ch, (counts.get(ch) ?? 0) + 1);
    expect(counts.size).toBe(36);
    // 10,000 expected per character; a biased modulo (252..255 folded onto 0..3) would give 0–3 ~11 % more.
    for (const [ch, n] of counts) expect(Math.abs(n - 10_000), ch).toBeLessThan(500);
  });
});
