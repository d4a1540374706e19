import { describe, expect, it } from "vitest";
import type { Manifest } from "#shared/manifest.ts";
import { MAX_STRING_LENGTH } from "#shared/predict.ts";
import { compileEncoder } from "../../edge/src/models/features.ts";

/**
 * How the edge turns request records into model columns, and what it tells the caller about each bad
 * field. Pure: it runs inside workerd with the edge suites and in Node for mutation testing.
 */

const manifest = {
  features: [
    { name: "tenure", type: "numeric", required: true },
    { name: "charges", type: "numeric", required: false },
    { name: "plan", type: "categorical", required: true, categories: ["a", "b"] },
    { name: "region", type: "categorical", required: false, categories: ["eu"] },
  ],
} as unknown as Manifest;
const encoder = compileEncoder(manifest);
const valid = { tenure: 1, plan: "a" };

const messages = (records: Record<string, unknown>[], allowUnknownFields = false, rowIds?: number[]) =>
  encoder.encode(records, allowUnknownFields, rowIds).issues.map((i) => `${i.path}: ${i.message}`);

describe("record validation at the edge", () => {
  it("names the features in manifest order and reports no errors for good records", () => {
    expect(encoder.names).toEqual(["tenure", "charges", "plan", "region"]);
    const batch = encoder.encode([{ ...valid, region: null, charges: null }], false);
    expect(batch.issues).toEqual([]);
    expect(batch.fieldErrors).toBeUndefined();
    expect(batch.columns[3]).toEqual([""]);
    expect(Number.isNaN((batch.columns[1] as Float32Array)[0])).toBe(true);
  });

  it("refuses prototype keys whatever the tenant allows", () => {
    const polluted = JSON.parse('{"tenure": 1, "plan": "a", "__proto__": {"x": 1}}') as Record<
      string,
      unknown
    >;
    expect(messages([polluted], true)).toEqual(["records.0.__proto__: forbidden key"]);
    expect(messages([{ ...valid, constructor: 1, prototype: 2 }], true)).toEqual([
      "records.0.constructor: forbidden key",
      "records.0.prototype: forbidden key",
    ]);
  });

  it("refuses unknown fields unless the tenant allows them, but never customerId", () => {
    expect(messages([{ ...valid, extra: 1, customerId: "c1" }])).toEqual([
      "records.0.extra: unknown field for the live model",
    ]);
    expect(messages([{ ...valid, extra: 1 }], true)).toEqual([]);
  });

  it("keeps a customer id of up to 128 characters, and refuses a longer or non-string one", () => {
    const ok = "c".repeat(128);
    const batch = encoder.encode([{ ...valid, customerId: ok }, valid], false);
    expect(batch.customerIds).toEqual([ok, undefined]);
    const message = "must be a string of at most 128 characters";
    expect(
      messages([
        { ...valid, customerId: "c".repeat(129) },
        { ...valid, customerId: 7 },
      ]),
    ).toEqual([`records.0.customerId: ${message}`, `records.1.customerId: ${message}`]);
    expect(encoder.encode([{ ...valid, customerId: 7 }], false).customerIds).toEqual([undefined]);
  });

  it("reads only a record's own fields, never inherited ones", () => {
    const inherited = Object.assign(Object.create({ tenure: 5, customerId: "c9" }) as object, { plan: "a" });
    const batch = encoder.encode([inherited as Record<string, unknown>], false);
    expect(batch.issues.map((i) => i.message)).toEqual(["required number is missing"]);
    expect(batch.customerIds).toEqual([undefined]);
  });

  it("explains each bad number: missing when required, wrong type, not finite", () => {
    expect(
      messages([
        { plan: "a" },
        { tenure: null, plan: "a" },
        { tenure: "3", plan: "a" },
        { tenure: [3], plan: "a" },
        { tenure: Number.POSITIVE_INFINITY, plan: "a" },
        { tenure: Number.NaN, plan: "a" },
        { tenure: true, plan: "a" },
      ]),
    ).toEqual([
      "records.0.tenure: required number is missing",
      "records.1.tenure: required number is missing",
      "records.2.tenure: expected a number, got string",
      "records.3.tenure: expected a number, got an array",
      "records.4.tenure: must be a finite number",
      "records.5.tenure: must be a finite number",
      "records.6.tenure: expected a number, got boolean",
    ]);
  });

  it("takes categories as strings or finite numbers, and explains each bad one", () => {
    const long = "x".repeat(MAX_STRING_LENGTH);
    const batch = encoder.encode(
      [
        { tenure: 1, plan: 2 },
        { tenure: 1, plan: long },
      ],
      false,
    );
    expect(batch.issues).toEqual([]);
    expect(batch.columns[2]).toEqual(["2", long]);
    expect(
      messages([
        { tenure: 1 },
        { tenure: 1, plan: `${long}x` },
        { tenure: 1, plan: Number.NaN },
        { tenure: 1, plan: { a: 1 } },
        { tenure: 1, plan: ["a"] },
      ]),
    ).toEqual([
      "records.0.plan: required category is missing",
      `records.1.plan: longer than ${MAX_STRING_LENGTH} characters`,
      "records.2.plan: expected a string, got NaN",
      "records.3.plan: expected a string, got object",
      "records.4.plan: expected a string, got an array",
    ]);
  });

  it("names rows by the caller's ids when encoding a subset", () => {
    expect(messages([{ plan: "a" }, { tenure: 1 }], false, [4, 9])).toEqual([
      "records.4.tenure: required number is missing",
      "records.9.plan: required category is missing",
    ]);
  });

  it("lists the first 50 issues but counts every error per field", () => {
    const records = Array.from({ length: 60 }, () => ({ plan: "a", charges: "x" }));
    const batch = encoder.encode(records, false);
    expect(batch.issues).toHaveLength(50);
    expect(batch.issues[49]!.path).toBe("records.24.charges");
    expect(Object.fromEntries(batch.fieldErrors!)).toEqual({ tenure: 60, charges: 60 });
  });
});
