import { describe, expect, it } from "vitest";
import type { Manifest } from "#shared/manifest.ts";
import { compileEncoder } from "../../edge/src/models/features.ts";

const manifest = {
  features: [
    { name: "tenure", type: "numeric", required: true },
    { name: "charges", type: "numeric", required: false },
    { name: "plan", type: "categorical", required: true, categories: ["a", "b"] },
  ],
} as unknown as Manifest;

describe("feature encoding", () => {
  const encoder = compileEncoder(manifest);

  it("builds one column per feature, NaN for a missing optional number", () => {
    const { columns, issues } = encoder.encode(
      [
        { tenure: 3, plan: "a" },
        { tenure: 5, charges: 9.5, plan: 7 },
      ],
      false,
    );
    expect(issues).toEqual([]);
    expect(Array.from(columns[0] as Float32Array)).toEqual([3, 5]);
    expect(Number.isNaN((columns[1] as Float32Array)[0])).toBe(true);
    expect((columns[1] as Float32Array)[1]).toBe(9.5);
    expect(columns[2]).toEqual(["a", "7"]);
  });

  it("allows unknown fields only when the tenant does", () => {
    expect(encoder.encode([{ tenure: 1, plan: "a", extra: 1 }], false).issues).toHaveLength(1);
    expect(encoder.encode([{ tenure: 1, plan: "a", extra: 1 }], true).issues).toHaveLength(0);
  });

  it("keeps customerId out of the features", () => {
    const { customerIds, issues } = encoder.encode([{ tenure: 1, plan: "a", customerId: "c7" }], false);
    expect(issues).toEqual([]);
    expect(customerIds).toEqual(["c7"]);
  });
});
