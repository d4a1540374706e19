import { describe, expect, it } from "vitest";
import { ChurnError } from "#shared/errors.ts";
import { buildDataset, type DatasetOptions } from "../../trainer/src/data/dataset.ts";
import { dataQuality } from "../../trainer/src/ml/quality.ts";
import { createRandom } from "../../trainer/src/ml/random.ts";
import { range } from "./fixtures.ts";

/** 1,000 customers with one column per data-quality problem. */
function messyColumns(rows = 1000) {
  const random = createRandom(9);
  const churn = range(rows).map(() => (random() < 0.3 ? "Yes" : "No"));
  const tenure = range(rows).map((i) => String(Math.floor(random() * 72) + (churn[i] === "Yes" ? 0 : 10)));
  const columns: Record<string, string[]> = {
    customer: range(rows).map((i) => `C-${1000 + i}`), // unique text: an ID
    account_no: range(rows).map((i) => String(50_000_000 + 7 * i)), // unique whole numbers: an ID
    surname: range(rows).map(() => `name${Math.floor(random() * 400)}`), // ~330 distinct: high cardinality
    country: range(rows).map(() => "FR"), // constant
    promo: range(rows).map((i) => (i === 3 ? "yes" : "no")), // near-constant
    cancel_reason: churn.map((c, i) => (c === "Yes" ? `reason ${i % 3}` : "")), // only filled for churners: leakage
    tenure,
    monthly: range(rows).map((i) => (i % 10 === 0 ? "" : (20 + random() * 80).toFixed(2))),
    Churn: churn,
  };
  // Rows 1 and 5 copy rows 0 and 2 (apart from the IDs).
  const copies: [number, number][] = [
    [0, 1],
    [2, 5],
  ];
  for (const [from, to] of copies) {
    for (const name of Object.keys(columns)) {
      if (name !== "customer" && name !== "account_no") columns[name]![to] = columns[name]![from]!;
    }
  }
  return columns;
}

function build(columns: Record<string, string[]>, options: Partial<DatasetOptions> = {}) {
  const header = Object.keys(columns);
  const rows = columns[header[0]!]!.length;
  return buildDataset(
    header,
    header.map((h) => columns[h]!),
    range(rows, 2),
    { target: "Churn", positive: "Yes", ...options },
  );
}

describe("data-quality report", () => {
  const columns = messyColumns();
  const dataset = build(columns);
  const report = dataQuality(dataset, range(800), 1);
  const byName = Object.fromEntries(report.features.map((f) => [f.name, f]));

  it("drops ID-like and high-cardinality columns with a warning", () => {
    expect(dataset.features.map((f) => f.name)).toEqual([
      "country",
      "promo",
      "cancel_reason",
      "tenure",
      "monthly",
    ]);
    expect(report.dropped).toEqual([
      { column: "customer", reason: "its value is unique on every row" },
      { column: "account_no", reason: "its value is unique on every row" },
      { column: "surname", reason: expect.stringMatching(/^high cardinality \(\d+ distinct values\)$/) },
    ]);
    expect(dataset.warnings.join("\n")).toMatch(/"surname": \d+ distinct values/);
    expect(dataset.warnings.join("\n")).toMatch(/"account_no".*ID/);
  });

  it("reports missing rates, constant and near-constant columns", () => {
    expect(byName["monthly"]!.missingRate).toBeCloseTo(0.1, 2);
    expect(byName["country"]).toMatchObject({ constant: true, distinct: 1 });
    expect(byName["promo"]).toMatchObject({ constant: false, nearConstant: true, distinct: 2 });
    expect(byName["tenure"]).toMatchObject({ constant: false, nearConstant: false, possibleLeakage: false });
    expect(report.warnings.join("\n")).toMatch(/"country" is constant/);
    expect(report.warnings.join("\n")).toMatch(/"promo" is near-constant/);
  });

  it("flags a column that predicts the target on its own (single-feature AUC > 0.95)", () => {
    expect(byName["cancel_reason"]!.singleFeatureAuc).toBeGreaterThan(0.95);
    expect(byName["cancel_reason"]!.possibleLeakage).toBe(true);
    expect(byName["tenure"]!.singleFeatureAuc).toBeGreaterThan(0.55);
    expect(byName["tenure"]!.singleFeatureAuc).toBeLessThan(0.95);
    expect(report.warnings.join("\n")).toMatch(
      /"cancel_reason" alone predicts the target with ROC-AUC 1\.000: possible leakage/,
    );
  });

  it("counts duplicate rows and the target balance", () => {
    expect(report.duplicateRows).toBeGreaterThanOrEqual(2);
    expect(report.duplicateFeatureRows).toBeGreaterThanOrEqual(report.duplicateRows);
    expect(report.target.positiveRate).toBeCloseTo(
      columns["Churn"]!.filter((c) => c === "Yes").length / 1000,
      10,
    );
    expect(report.target.imbalanced).toBe(false);
    const rare = build({ ...columns, Churn: columns["Churn"]!.map((_, i) => (i % 20 === 0 ? "Yes" : "No")) });
    expect(dataQuality(rare, range(800), 1).warnings.join()).toMatch(/imbalanced: 5\.0%/);
  });
});

describe("--schema", () => {
  const columns = messyColumns(200);

  it("overrides inferred types and keeps named columns from automatic dropping", () => {
    const dataset = build(columns, { schema: { tenure: "categorical", account_no: "numeric" } });
    const tenure = dataset.features.find((f) => f.name === "tenure")!;
    expect(tenure.kind).toBe("categorical");
    expect(dataset.features.find((f) => f.name === "account_no")?.kind).toBe("numeric");
  });

  it("names the column and row of text in a column typed numeric, and unknown schema columns", () => {
    // A fifth of the cells are words: far beyond the share a numeric column may set aside as missing.
    const bad = { ...columns, promo: columns["promo"]!.map((v, i) => (i % 5 === 0 ? v : String(i))) };
    let error: unknown;
    try {
      build(bad, { schema: { promo: "numeric" } });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ChurnError);
    expect((error as Error).message).toMatch(/Column "promo" is typed numeric.*e\.g\. "no" at CSV line 2\b/);
    expect(() => build(columns, { schema: { nope: "numeric" } })).toThrow(/Schema names column "nope"/);
    expect(() => build(columns, { schema: { tenure: "text" as "numeric" } })).toThrow(
      /must be "numeric" or "categorical"/,
    );
  });
});
