import { Worker } from "node:worker_threads";
import { ChurnError } from "#shared/errors.ts";
import { type ProbabilityOutput, type ScoreBatch, transferables } from "./batch.ts";
import type { SessionScorer } from "./session-scorer.ts";

/**
 * Scores batches in order. On its own thread, onnxruntime starts its WASM runtime (about a third of a
 * second) as soon as the scorer is opened, while the calling thread checks the model and reads the first
 * rows, and then scores one batch while the next is parsed: reading and scoring overlap instead of taking
 * turns. Either way one session, single-threaded WASM, scores every row, so the thread changes the wall
 * time and nothing else.
 */
export interface Scorer {
  /** Hands over the graph to score with; must come before the first batch. */
  load(bytes: Uint8Array, output: ProbabilityOutput): Promise<void>;
  score(batch: ScoreBatch): Promise<Float32Array>;
  close(): Promise<void>;
}

/** Scores on a worker thread (`thread`) or on the calling one. */
export function openScorer(options: { thread: boolean }): Scorer {
  return options.thread ? threadScorer() : callingThreadScorer();
}

/** What the scoring thread is sent: the graph once, then batches. */
export type ScorerMessage =
  | { kind: "load"; bytes: Uint8Array; output: ProbabilityOutput }
  | { kind: "score"; batch: ScoreBatch };

/** What the scoring thread sends back for each batch, in the order the batches were sent. */
export type ScoreReply =
  | { ok: true; probability: Float32Array }
  | { ok: false; stage: "load" | "score"; message: string };

/** onnxruntime would not load the graph (bytes that passed the manifest's hash but are not a model it runs). */
function modelRefused(message: string): ChurnError {
  return new ChurnError("INVALID_MODEL", `onnxruntime cannot load the model: ${message}`);
}

function callingThreadScorer(): Scorer {
  let session: SessionScorer | undefined;
  return {
    async load(bytes, output) {
      const { openSessionScorer } = await import("./session-scorer.ts");
      try {
        session = await openSessionScorer(bytes, output);
      } catch (error) {
        throw modelRefused(error instanceof Error ? error.message : String(error));
      }
    },
    score: (batch) => session!.score(batch),
    close: async () => session?.release(),
  };
}

function threadScorer(): Scorer {
  const worker = new Worker(new URL("./scorer-thread.ts", import.meta.url));
  const waiting: { resolve: (p: Float32Array) => void; reject: (e: Error) => void }[] = [];
  let failure: Error | undefined;
  const fail = (error: Error) => {
    failure ??= error;
    for (const w of waiting.splice(0)) w.reject(failure);
  };
  worker.on("message", (reply: ScoreReply) => {
    const next = waiting.shift();
    if (reply.ok) next?.resolve(reply.probability);
    else if (reply.stage === "load") next?.reject(modelRefused(reply.message));
    // onnxruntime's own message about a batch, as scoring on the calling thread shows it.
    else next?.reject(new Error(reply.message));
  });
  worker.on("error", fail);
  worker.on("exit", () => fail(new ChurnError("INTERNAL", "The scoring thread stopped unexpectedly")));
  const send = (message: ScorerMessage, transfer: ArrayBuffer[] = []) =>
    worker.postMessage(message, transfer);
  return {
    // A graph onnxruntime refuses is reported with the first batch, by which time it has been tried.
    async load(bytes, output) {
      send({ kind: "load", bytes, output });
    },
    score(batch) {
      if (failure) return Promise.reject(failure);
      return new Promise<Float32Array>((resolve, reject) => {
        waiting.push({ resolve, reject });
        send({ kind: "score", batch }, transferables(batch));
      });
    },
    async close() {
      failure ??= new ChurnError("INTERNAL", "The scorer is closed");
      await worker.terminate();
    },
  };
}
