import { describe, expect, it } from "vitest";
import { maxRecordsPerRequest, operationsPerRecord } from "#shared/onnx/inference-budget.ts";
import { MODEL_BOUNDS } from "#shared/onnx/model-bounds.ts";
import type { ModelFootprint } from "#shared/onnx/model-safety.ts";
import { MAX_RECORDS } from "#shared/predict.ts";

const footprint = (cost: Partial<ModelFootprint>): ModelFootprint => ({
  nodes: 10,
  initializerElements: 100,
  attributeValues: 0,
  treeNodes: 0,
  elementsPerRecord: 0,
  multiplyAddsPerRecord: 0,
  treeStepsPerRecord: 0,
  ...cost,
});

describe("the edge's per-request inference budget", () => {
  it("weighs values, multiply-adds and tree steps into operations per record", () => {
    expect(operationsPerRecord(footprint({ elementsPerRecord: 10, multiplyAddsPerRecord: 20 }))).toBe(30);
    expect(operationsPerRecord(footprint({ treeStepsPerRecord: 2 }))).toBe(32);
  });

  it("lets Telco-sized models score the API's full 1,000 records", () => {
    // The trained fixtures: a linear model and a 200-tree random forest (test/trainer/model-safety.test.ts).
    expect(maxRecordsPerRequest(footprint({ elementsPerRecord: 389, multiplyAddsPerRecord: 1387 }))).toBe(
      MAX_RECORDS,
    );
    expect(maxRecordsPerRequest(footprint({ elementsPerRecord: 222, treeStepsPerRecord: 1724 }))).toBe(
      MAX_RECORDS,
    );
  });

  it("gives a costly model fewer records, by work or by memory, and never fewer than one", () => {
    const wide = footprint({ elementsPerRecord: 60_000, multiplyAddsPerRecord: 7_500_000 });
    expect(maxRecordsPerRequest(wide)).toBe(Math.floor(MODEL_BOUNDS.requestOperations / 7_560_000));
    const memoryBound = footprint({ elementsPerRecord: 20_002, multiplyAddsPerRecord: 10_000 });
    expect(maxRecordsPerRequest(memoryBound)).toBe(Math.floor(MODEL_BOUNDS.requestElements / 20_002));
    expect(maxRecordsPerRequest(footprint({ multiplyAddsPerRecord: 10 ** 12 }))).toBe(1);
  });
});
