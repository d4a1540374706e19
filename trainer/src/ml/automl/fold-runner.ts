import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import type { Dataset } from "../../data/dataset.ts";
import { batchFromDataset, type FeatureBatch } from "../features.ts";
import { type Candidate, fitCandidate } from "./candidates.ts";
import { packDataset } from "./shared-dataset.ts";

/**
 * Cross-validation fits for the search, two at a time on a multi-core machine: one on the calling thread,
 * one on a worker thread reading the same data set (numbers on shared memory, categories as shared
 * codes, so memory does not double). A fit is deterministic, so which thread ran it changes nothing but
 * the wall time; the search records results by fold, so their arrival order does not matter either.
 * Parallelism is coarse (one whole fit per hand-off), which is where threads pay.
 */

/** The data every fit reads: the data set and, per fold, its training rows and its scored rows. */
export interface FoldContext {
  dataset: Dataset;
  /** Per fold, the dataset rows a fit trains on. */
  foldTrain: number[][];
  /** Per fold, the dataset rows its out-of-fold margins are for. */
  foldTest: number[][];
}

export interface FoldJob {
  candidate: Candidate;
  fold: number;
  /** Fixed trees / epochs (seed bagging); otherwise the fit early-stops. */
  rounds?: number;
  /** Date.now() past which an early-stopping tree fit grows no further trees (set when admitted). */
  stopAt?: number;
}

export interface FoldOutcome {
  /** Margins of the fold's scored rows, in `foldTest[fold]` order. */
  margins: Float32Array;
  /** Wall time of the fit. */
  seconds: number;
  /** CPU time of the thread that ran it: wall ÷ CPU tells how much other work slowed it. */
  cpuSeconds: number;
  /** Trees (GBDT) or epochs (MLP) kept. */
  rounds?: number;
}

export interface FoldRunner {
  /**
   * Runs `jobs` in order, up to two at a time. `admit` is asked just before each job starts;
   * when it says no, nothing more starts, the running jobs finish, and the result is false. `done` gets each
   * job's outcome as it finishes (in any order).
   */
  run(
    jobs: readonly FoldJob[],
    admit: (job: FoldJob) => boolean,
    done: (job: FoldJob, outcome: FoldOutcome) => void,
  ): Promise<boolean>;
  close(): void;
}

/** Test batches of at most this many rows are kept between fits; larger ones are rebuilt (memory). */
const CACHED_BATCH_ROWS = 50_000;

/** Fits one job on this thread. Test batches are built once per fold and context, when small. */
export function fitFold(ctx: FoldContext, job: FoldJob, batches: Map<number, FeatureBatch>): FoldOutcome {
  const started = performance.now();
  const cpuAtStart = process.threadCpuUsage();
  const fitted = fitCandidate(job.candidate, ctx.dataset, ctx.foldTrain[job.fold]!, job.rounds, job.stopAt);
  let batch = batches.get(job.fold);
  if (!batch) {
    batch = batchFromDataset(ctx.dataset, ctx.foldTest[job.fold]!);
    if (batch.rows <= CACHED_BATCH_ROWS) batches.set(job.fold, batch);
  }
  const margins = fitted.model.predictMargin(batch);
  const cpu = process.threadCpuUsage(cpuAtStart);
  return {
    margins,
    seconds: (performance.now() - started) / 1000,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    ...(fitted.rounds !== undefined ? { rounds: fitted.rounds } : {}),
  };
}

/** 2 on a multi-core machine, else 1; `threads` (1 or 2) overrides. */
export function foldThreads(threads?: number): number {
  if (threads !== undefined) return Math.max(1, Math.min(2, Math.floor(threads)));
  return availableParallelism() > 1 ? 2 : 1;
}

/**
 * A runner with `threads` fits at a time. The worker starts in the background: jobs run on this thread
 * until it is ready, and if it cannot start or dies, everything runs here.
 */
export function openFoldRunner(ctx: FoldContext, threads: number): FoldRunner {
  const batches = new Map<number, FeatureBatch>();
  const remote = threads > 1 ? startRemote(ctx) : undefined;
  const yieldToEvents = () => new Promise<void>((resolve) => setImmediate(resolve));

  return {
    async run(jobs, admit, done) {
      let next = 0;
      let refused = false;
      let inflight: Promise<void> | undefined;
      const take = (): FoldJob | undefined => {
        if (refused || next >= jobs.length) return undefined;
        const job = jobs[next]!;
        if (!admit(job)) {
          refused = true;
          return undefined;
        }
        next++;
        return job;
      };
      for (;;) {
        if (!inflight && remote?.ready()) {
          const job = take();
          if (job) {
            inflight = remote
              .fit(job)
              // A worker that failed hands its job back to this thread.
              .catch(() => fitFold(ctx, job, batches))
              .then((outcome) => {
                inflight = undefined;
                done(job, outcome);
              });
          }
        }
        const job = take();
        if (job) {
          done(job, fitFold(ctx, job, batches));
          // Lets the worker's reply (and its next job) through between two fits here.
          await yieldToEvents();
          continue;
        }
        if (inflight) {
          await inflight;
          continue;
        }
        return !refused;
      }
    },
    close() {
      remote?.close();
    },
  };
}

interface Remote {
  ready(): boolean;
  fit(job: FoldJob): Promise<FoldOutcome>;
  close(): void;
}

type Reply = { ok: true; outcome: FoldOutcome } | { ok: false; message: string };

function startRemote(ctx: FoldContext): Remote {
  let state: "starting" | "ready" | "dead" = "starting";
  let pending: { resolve: (o: FoldOutcome) => void; reject: (e: Error) => void } | undefined;
  const worker = new Worker(new URL("./fold-worker.ts", import.meta.url), {
    workerData: { ...ctx, dataset: packDataset(ctx.dataset) },
  });
  // An idle worker must not keep the process alive; close() terminates it.
  worker.unref();
  const fail = (error: Error) => {
    state = "dead";
    pending?.reject(error);
    pending = undefined;
  };
  worker.on("message", (message: "ready" | Reply) => {
    if (message === "ready") {
      if (state === "starting") state = "ready";
      return;
    }
    const waiting = pending;
    pending = undefined;
    if (message.ok) waiting?.resolve(message.outcome);
    else waiting?.reject(new Error(message.message));
  });
  worker.on("error", fail);
  worker.on("exit", () => fail(new Error("The fold worker exited")));
  return {
    ready: () => state === "ready" && pending === undefined,
    fit(job) {
      return new Promise<FoldOutcome>((resolve, reject) => {
        pending = { resolve, reject };
        worker.postMessage(job);
      });
    },
    close() {
      state = "dead";
      void worker.terminate();
    },
  };
}
