import { Worker } from "node:worker_threads";
import { CONTROL_WORDS, ERROR_BYTES } from "./fit-layout.ts";
import { kernelModule } from "./kernels.ts";
import { view } from "./memory.ts";
import type { PhaseId, ThreadContext } from "./phases.ts";

/**
 * The threads of one fit. `run` hands a phase's shares out and returns when all are done; the calling
 * thread works through shares too. Shares are claimed one at a time from a counter in shared memory, so
 * a worker that is still starting, or busy elsewhere, simply claims fewer: any share can run on any
 * thread, and the result is the same.
 */
export interface Team {
  readonly threads: number;
  run(phase: PhaseId, shares: number): void;
  /** Worker threads serving so far. */
  workersReady(): number;
  /** Shares each thread has run (the calling thread first). */
  sharesRun(): number[];
  close(): void;
}

/** The calling thread alone. */
export function soloTeam(ctx: ThreadContext): Team {
  let ran = 0;
  return {
    threads: 1,
    run(phase, shares) {
      for (let share = 0; share < shares; share++) ctx.runShare(phase, share, shares);
      ran += shares;
    },
    workersReady: () => 0,
    sharesRun: () => [ran],
    close() {},
  };
}

/** Control words (int32) at the layout's `control` offset. */
const Word = {
  /** Bumped (1..32767) to start a phase; workers wait on it. */
  generation: 0,
  /** The claim counter: generation << 16 | next share. A claim of an older generation fails. */
  claim: 1,
  done: 2,
  phase: 3,
  shares: 4,
  stop: 5,
  /** Byte length of a worker's error message in the layout's `error` block; 0 = none. */
  error: 6,
  /** Worker threads that have started serving. */
  ready: 7,
  /** Then one word per thread: shares it has run (diagnostics, and proof that workers take part). */
  sharesRun: 8,
} as const;

export const MAX_SHARES = 0xffff;
/**
 * Polls of a control word before sleeping on it. Phases follow each other within microseconds, and
 * waking a sleeping thread costs tens of them; past about 50 µs of polling the thread sleeps.
 */
const SPINS = 20_000;

/**
 * Claims and runs shares of generation `generation` until none is left. A thread that read an older
 * generation's descriptor fails its claim, because the counter's generation moved on first.
 */
function workOn(
  control: Int32Array,
  ctx: ThreadContext,
  generation: number,
  onError?: (e: unknown) => void,
): void {
  const phase = Atomics.load(control, Word.phase) as PhaseId;
  const shares = Atomics.load(control, Word.shares);
  for (;;) {
    const claim = Atomics.load(control, Word.claim);
    if (claim >>> 16 !== generation || (claim & 0xffff) >= shares) return;
    if (Atomics.compareExchange(control, Word.claim, claim, claim + 1) !== claim) continue;
    try {
      ctx.runShare(phase, claim & 0xffff, shares);
    } catch (error) {
      if (!onError) throw error;
      onError(error);
    }
    Atomics.add(control, Word.sharesRun + ctx.thread, 1);
    Atomics.add(control, Word.done, 1);
    Atomics.notify(control, Word.done);
  }
}

/** Waits until `control[word]` differs from `seen` (or, for `done`, reaches `target`). */
function waitFor(control: Int32Array, word: number, ready: (value: number) => boolean): number {
  let spins = 0;
  for (;;) {
    const value = Atomics.load(control, word);
    if (ready(value)) return value;
    if (++spins > SPINS) Atomics.wait(control, word, value, 100);
  }
}

/** The calling thread plus `ctx.layout.threads - 1` worker threads on the same memory. */
export function startTeam(ctx: ThreadContext): Team {
  const { memory, layout } = ctx;
  const control = view(memory, Int32Array, layout.control, CONTROL_WORDS);
  const workers: Worker[] = [];
  for (let thread = 1; thread < layout.threads; thread++) {
    const worker = new Worker(new URL("./team-worker.ts", import.meta.url), {
      workerData: { memory, layout, thread, kernels: kernelModule() },
    });
    // A worker that fails to start claims no share; the calling thread does its work.
    worker.on("error", () => {});
    worker.unref();
    workers.push(worker);
  }
  let generation = 0;
  return {
    threads: layout.threads,
    run(phase, shares) {
      if (shares > MAX_SHARES)
        throw new RangeError(`A phase has at most ${MAX_SHARES} shares, got ${shares}`);
      generation = (generation % 0x7fff) + 1;
      Atomics.store(control, Word.claim, generation << 16);
      Atomics.store(control, Word.done, 0);
      Atomics.store(control, Word.phase, phase);
      Atomics.store(control, Word.shares, shares);
      Atomics.store(control, Word.generation, generation);
      Atomics.notify(control, Word.generation);
      workOn(control, ctx, generation);
      waitFor(control, Word.done, (done) => done >= shares);
      const errorBytes = Atomics.load(control, Word.error);
      if (errorBytes > 0) {
        const message = new TextDecoder().decode(view(memory, Uint8Array, layout.error, errorBytes).slice());
        throw new Error(`GBDT worker thread failed: ${message}`);
      }
    },
    workersReady: () => Atomics.load(control, Word.ready),
    sharesRun: () =>
      Array.from({ length: layout.threads }, (_, t) => Atomics.load(control, Word.sharesRun + t)),
    close() {
      Atomics.store(control, Word.stop, 1);
      Atomics.add(control, Word.generation, 1);
      Atomics.notify(control, Word.generation);
      for (const worker of workers) void worker.terminate();
    },
  };
}

/** A worker thread's loop (team-worker.ts): wait for a phase, claim its shares, until told to stop. */
export function serveTeam(ctx: ThreadContext): void {
  const { memory, layout } = ctx;
  const control = view(memory, Int32Array, layout.control, CONTROL_WORDS);
  let seen = 0;
  const onError = (error: unknown) => {
    const text = new TextEncoder().encode(
      error instanceof Error ? (error.stack ?? error.message) : String(error),
    );
    const length = Math.min(text.length, ERROR_BYTES);
    view(memory, Uint8Array, layout.error, length).set(text.subarray(0, length));
    Atomics.store(control, Word.error, Math.max(length, 1));
  };
  Atomics.add(control, Word.ready, 1);
  for (;;) {
    seen = waitFor(control, Word.generation, (generation) => generation !== seen);
    if (Atomics.load(control, Word.stop) === 1) return;
    workOn(control, ctx, seen, onError);
  }
}
