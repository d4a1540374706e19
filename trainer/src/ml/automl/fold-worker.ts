import { parentPort, workerData } from "node:worker_threads";
import type { FeatureBatch } from "../features.ts";
import { type FoldContext, type FoldJob, fitFold } from "./fold-runner.ts";
import { type PackedDataset, unpackDataset } from "./shared-dataset.ts";

/** The search's second fitting thread (see fold-runner.ts): fits the jobs it is sent, one at a time. */
const sent = workerData as Omit<FoldContext, "dataset"> & { dataset: PackedDataset };
const ctx: FoldContext = { ...sent, dataset: unpackDataset(sent.dataset) };
const batches = new Map<number, FeatureBatch>();
const port = parentPort!;

port.on("message", (job: FoldJob) => {
  try {
    const outcome = fitFold(ctx, job, batches);
    port.postMessage({ ok: true, outcome }, [outcome.margins.buffer as ArrayBuffer]);
  } catch (error) {
    port.postMessage({ ok: false, message: error instanceof Error ? error.message : String(error) });
  }
});
port.postMessage("ready");
