import { describe, expect, it } from "vitest";
import type { Column, Dataset } from "../../trainer/src/data/dataset.ts";
import {
  compareStrings,
  encode,
  encodedBlocks,
  encodedColumnFeatures,
  featureSpecs,
  fitPreprocessor,
  hasSteps,
  type NumericEncoding,
  stepBlocks,
} from "../../trainer/src/ml/preprocess.ts";

/**
 * The trainer's feature encoding on a dataset small enough to fit by hand: imputation and scaling of
 * numbers, one-hot blocks of categories, step columns, the encoded layout and the manifest's feature specs.
 */

const f32 = Math.fround;

function datasetOf(features: Column[]): Dataset {
  const rowCount = features[0]!.values.length;
  return {
    features,
    target: { column: "churn", positive: "yes", negative: "no", y: new Uint8Array(rowCount) },
    rowCount,
    lines: Int32Array.from({ length: rowCount }, (_, i) => i + 2),
    sourceRows: undefined,
    dropped: [],
    warnings: [],
    reading: {
      separator: ",",
      separatorDetected: false,
      encoding: "utf-8",
      bom: false,
      lineEndings: "LF",
      decimal: ".",
      rowsRead: rowCount,
      rowsKept: rowCount,
      missingTargetRows: { count: 0, lines: [] },
      blankRows: { count: 0, lines: [] },
      fittedRows: { count: 0, lines: [] },
      headerRenames: [],
      naMarkers: {},
      columns: [],
    },
  };
}

const numeric = (name: string, values: number[]): Column => ({
  kind: "numeric",
  name,
  input: name,
  values: Float64Array.from(values),
  missing: values.filter(Number.isNaN).length,
});
const categorical = (name: string, values: string[]): Column => ({
  kind: "categorical",
  name,
  input: name,
  values,
  missing: values.filter((v) => v === "").length,
});

// Row 4 is not a training row: its values must not reach any fitted number.
const dataset = datasetOf([
  numeric("tenure", [1, 2, Number.NaN, 4, 100]),
  categorical("plan", ["b", "a", "", "a", "zzz"]),
  numeric("charges", [10, 10, 10, 10, -5]),
]);
const TRAIN_ROWS = [0, 1, 2, 3];

describe("fitting the preprocessor", () => {
  it("imputes numbers at their float32 training mean and scales by the deviation over all rows", () => {
    const pre = fitPreprocessor(dataset, TRAIN_ROWS);
    const tenure = pre.features[0] as NumericEncoding;
    const mean = f32((f32(1) + f32(2) + f32(4)) / 3);
    expect(tenure.mean).toBe(mean);
    // The missing row sits at the mean: it adds to n, not to the squares.
    expect(tenure.std).toBe(f32(Math.sqrt(((1 - mean) ** 2 + (2 - mean) ** 2 + (4 - mean) ** 2) / 4)));
    expect(tenure).toMatchObject({
      kind: "numeric",
      name: "tenure",
      hadMissing: true,
      min: 1,
      max: 4,
      steps: [],
    });
  });

  it("scales a constant column by 1, and fits an all-missing column at zero", () => {
    const pre = fitPreprocessor(dataset, TRAIN_ROWS);
    expect(pre.features[2]).toMatchObject({ mean: 10, std: 1, hadMissing: false, min: 10, max: 10 });
    const empty = fitPreprocessor(datasetOf([numeric("x", [Number.NaN, Number.NaN])]), [0, 1]);
    expect(empty.features[0]).toMatchObject({ mean: 0, std: 1, min: 0, max: 0, hadMissing: true });
  });

  it("keeps the most frequent categories, ties broken by name, listed in code-unit order", () => {
    const pre = fitPreprocessor(dataset, TRAIN_ROWS);
    expect(pre.features[1]).toEqual({
      kind: "categorical",
      name: "plan",
      input: "plan",
      categories: ["a", "b"],
      hadMissing: true,
    });
    expect(fitPreprocessor(dataset, TRAIN_ROWS, { maxCategories: 1 }).features[1]).toMatchObject({
      categories: ["a"],
    });
    const tied = datasetOf([categorical("c", ["b", "a", "c", "c"])]);
    expect(fitPreprocessor(tied, [0, 1, 2, 3], { maxCategories: 2 }).features[0]).toMatchObject({
      categories: ["a", "c"],
    });
    const cased = datasetOf([categorical("c", ["a", "B", "b"])]);
    expect(fitPreprocessor(cased, [0, 1, 2]).features[0]).toMatchObject({ categories: ["B", "a", "b"] });
  });

  it("compares strings by code unit, whatever the locale", () => {
    expect(compareStrings("B", "a")).toBe(-1);
    expect(compareStrings("a", "B")).toBe(1);
    expect(compareStrings("é", "é")).toBe(0);
  });

  it("cuts step columns at distinct training values below the maximum", () => {
    const pre = fitPreprocessor(dataset, TRAIN_ROWS, { numericBins: 4 });
    expect((pre.features[0] as NumericEncoding).steps).toEqual([1, 2]);
    expect((pre.features[2] as NumericEncoding).steps).toEqual([]);
    const repeats = datasetOf([numeric("x", [1, 1, 1, 2, 3])]);
    expect(
      (fitPreprocessor(repeats, [0, 1, 2, 3, 4], { numericBins: 4 }).features[0] as NumericEncoding).steps,
    ).toEqual([1, 2]);
    expect(
      (fitPreprocessor(repeats, [0, 1, 2, 3, 4], { numericBins: 1 }).features[0] as NumericEncoding).steps,
    ).toEqual([]);
    const unrepresentable = datasetOf([numeric("x", [0.1, 0.2, 0.3])]);
    expect(
      (fitPreprocessor(unrepresentable, [0, 1, 2], { numericBins: 3 }).features[0] as NumericEncoding).steps,
    ).toEqual([f32(0.2)]);
    const missingOnly = datasetOf([numeric("x", [Number.NaN])]);
    expect(
      (fitPreprocessor(missingOnly, [0], { numericBins: 4 }).features[0] as NumericEncoding).steps,
    ).toEqual([]);
  });

  it("fits ranges and cut points from training values in any row order", () => {
    const shuffled = datasetOf([numeric("x", [3, 1, 4, 2]), categorical("c", ["p", "q", "p", "q"])]);
    const pre = fitPreprocessor(shuffled, [0, 1, 2, 3], { numericBins: 2 });
    expect((pre.features[0] as NumericEncoding).steps).toEqual([3]);
    expect(featureSpecs(pre)).toEqual([
      { name: "x", type: "numeric", required: true, min: 1, max: 4 },
      { name: "c", type: "categorical", required: true, categories: ["p", "q"] },
    ]);
  });
});

describe("the encoded layout", () => {
  it("puts numbers first, then one-hot blocks, then step columns, each in feature order", () => {
    const plain = fitPreprocessor(dataset, TRAIN_ROWS);
    expect(plain.width).toBe(4);
    expect(encodedBlocks(plain)).toEqual([
      { offset: 0, size: 1 },
      { offset: 2, size: 2 },
      { offset: 1, size: 1 },
    ]);
    expect(stepBlocks(plain)).toEqual([]);
    expect(hasSteps(plain)).toBe(false);
    expect(Array.from(encodedColumnFeatures(plain))).toEqual([0, 2, 1, 1]);

    const stepped = fitPreprocessor(dataset, TRAIN_ROWS, { numericBins: 4 });
    expect(stepped.width).toBe(6);
    expect(stepBlocks(stepped)).toEqual([{ feature: 0, offset: 4, size: 2 }]);
    expect(hasSteps(stepped)).toBe(true);
    expect(Array.from(encodedColumnFeatures(stepped))).toEqual([0, 2, 1, 1, 0, 0]);
  });

  it("places step blocks of several numeric features one after another", () => {
    const two = datasetOf([numeric("a", [1, 2, 3, 4]), numeric("b", [5, 6, 7, 8])]);
    const pre = fitPreprocessor(two, [0, 1, 2, 3], { numericBins: 2 });
    expect(stepBlocks(pre)).toEqual([
      { feature: 0, offset: 2, size: 1 },
      { feature: 1, offset: 3, size: 1 },
    ]);
  });
});

describe("encoding a batch", () => {
  it("standardises numbers, imputes missing ones at the mean, and one-hot encodes known categories", () => {
    const pre = fitPreprocessor(dataset, TRAIN_ROWS);
    const tenure = pre.features[0] as NumericEncoding;
    const x = encode(pre, {
      rows: 3,
      values: {
        tenure: Float32Array.of(3, Number.NaN, 1),
        plan: ["b", "unseen", "a"],
        charges: Float32Array.of(12, 10, 7),
      },
    });
    const standard = (v: number) => f32(f32(v - tenure.mean) / tenure.std);
    expect(Array.from(x)).toEqual([...[standard(3), 2, 0, 1], ...[0, 0, 0, 0], ...[standard(1), -3, 1, 0]]);
  });

  it("sets a step column only for values strictly above its cut, imputed ones included", () => {
    const pre = fitPreprocessor(dataset, TRAIN_ROWS, { numericBins: 4 });
    const x = encode(pre, {
      rows: 4,
      values: {
        tenure: Float32Array.of(0.5, 1, 2, Number.NaN),
        plan: ["", "", "", ""],
        charges: Float32Array.of(10, 10, 10, 10),
      },
    });
    const stepsOf = (row: number) => Array.from(x.slice(row * 6 + 4, row * 6 + 6));
    expect([0, 1, 2, 3].map(stepsOf)).toEqual([
      [0, 0],
      [0, 0],
      [1, 0],
      [1, 1],
    ]);
  });
});

describe("manifest feature specs", () => {
  it("describes each feature with its type, whether it is required, and its range or categories", () => {
    expect(featureSpecs(fitPreprocessor(dataset, TRAIN_ROWS))).toEqual([
      { name: "tenure", type: "numeric", required: false, min: 1, max: 4 },
      { name: "plan", type: "categorical", required: false, categories: ["a", "b"] },
      { name: "charges", type: "numeric", required: true, min: 10, max: 10 },
    ]);
  });
});
