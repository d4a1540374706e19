import { describe, expect, it } from "vitest";
import { stratifiedSplit, validateSplit } from "../../trainer/src/ml/split.ts";

describe("split", () => {
  it("is stratified, disjoint and deterministic per seed", () => {
    const y = Array.from({ length: 1000 }, (_, i) => (i % 4 === 0 ? 1 : 0));
    const a = stratifiedSplit(y, 42);
    expect(a.test.length).toBe(200);
    expect(a.test.filter((i) => y[i] === 1).length).toBe(50);
    expect(new Set([...a.train, ...a.test]).size).toBe(1000);
    expect(stratifiedSplit(y, 42)).toEqual(a);
    expect(stratifiedSplit(y, 43)).not.toEqual(a);
  });

  it("validates index files", () => {
    expect(validateSplit({ train: [2, 0], test: [1] }, 3)).toEqual({ train: [0, 2], test: [1] });
    expect(() => validateSplit({ train: [0, 3], test: [1] }, 3)).toThrow(/\[0, 2\]/);
    expect(() => validateSplit({ train: [0, 1], test: [1] }, 3)).toThrow(/row 1 appears in both/);
    expect(() => validateSplit({ train: [0, 0], test: [1] }, 3)).toThrow(/twice in "train"/);
    expect(() => validateSplit({ train: [0.5], test: [1] }, 3)).toThrow(/integers/);
    expect(() => validateSplit({ train: [0] }, 3)).toThrow(/"test" must be a non-empty array/);
  });
});
