import { MAX_RECORDS } from "../predict.ts";
import { MODEL_BOUNDS } from "./model-bounds.ts";
import type { ModelFootprint } from "./model-safety.ts";

/**
 * A tree step (compare, branch, follow a node index) costs about as much as 16 multiply-adds in ORT's WASM
 * kernels, which vectorise the products; writing a computed value counts as one operation.
 */
const TREE_STEP_OPERATIONS = 16;

/** The work one record adds to a run of the graph, in multiply-add equivalents. */
export function operationsPerRecord(footprint: ModelFootprint): number {
  return (
    footprint.elementsPerRecord +
    footprint.multiplyAddsPerRecord +
    footprint.treeStepsPerRecord * TREE_STEP_OPERATIONS
  );
}

/**
 * How many records one request may score with this model: as many as fit the edge's per-request budgets
 * of work and of memory, between 1 (a model that passed the publish bounds can always score one record)
 * and the API's maximum.
 */
export function maxRecordsPerRequest(
  footprint: ModelFootprint,
  budget: { requestOperations: number; requestElements: number } = MODEL_BOUNDS,
): number {
  const byWork = budget.requestOperations / Math.max(1, operationsPerRecord(footprint));
  const byMemory = budget.requestElements / Math.max(1, footprint.elementsPerRecord);
  return Math.min(MAX_RECORDS, Math.max(1, Math.floor(Math.min(byWork, byMemory))));
}
