import type { Dataset } from "../../data/dataset.ts";
import { calibrate, fitPlatt } from "../calibration.ts";
import { logLoss } from "../metrics.ts";
import {
  baselineCandidate,
  type Candidate,
  describeCandidate,
  initialCandidates,
  perturbedCandidates,
  type SearchFamily,
  type SpaceOptions,
} from "./candidates.ts";
import { exactLength } from "./fixed-params.ts";
import { type FoldJob, type FoldOutcome, foldThreads, openFoldRunner } from "./fold-runner.ts";
import { stratifiedFolds } from "./folds.ts";

export type EvaluationStatus = "complete" | "pruned" | "out-of-budget";

/** A candidate's cross-validation so far. Arrays are indexed by position in the training rows. */
export interface Evaluation {
  candidate: Candidate;
  /** Out-of-fold margins; NaN on rows of folds not evaluated (yet). */
  oof: Float64Array;
  folds: number[];
  foldSeconds: number[];
  /** Trees (GBDT) or epochs (MLP) kept, by fold. */
  foldRounds: number[];
  /**
   * GBDT seeds whose fold fits are averaged in `oof` (seed bagging); absent means the candidate's own seed
   * only. The final model averages a refit per seed the same way.
   */
  seeds?: number[];
  /** Log loss of the out-of-fold margins after Platt scaling, over the evaluated rows: the ranking metric. */
  score: number;
  status: EvaluationStatus;
  /** Successive-halving bracket (0 = the baseline) the candidate ran in. */
  bracket: number;
}

export interface SearchProgress {
  phase: "search";
  candidate: string;
  fold: number;
  folds: number;
  evaluatedFits: number;
  elapsedMs: number;
  budgetMs: number;
  best?: { candidate: string; score: number };
}

export interface SearchOptions {
  dataset: Dataset;
  /** Training rows (dataset row indices); the holdout never enters the search. */
  rows: readonly number[];
  folds: number;
  seed: number;
  families: readonly SearchFamily[];
  /**
   * Fixed hyper-parameters (see fixed-params.ts): this one candidate is cross-validated on every fold at
   * its exact length and nothing is searched; the budget neither stops it nor cuts its trees.
   */
  fixed?: Candidate;
  /** Wall-clock budget for the whole training run, ms, counted from `startedAt`. */
  budgetMs: number;
  startedAt: number;
  /**
   * Time kept back for everything after the search except refitting (calibration, export, report), ms,
   * as measured on an idle machine: the search scales it by the slowdown its fits show (`fitSlowdown`).
   */
  overheadMs: number;
  /** Most members an ensemble may have; the final refit of that many best candidates is budgeted for. */
  maxMembers: number;
  /** Perturbation brackets after the first (successive halving each), while the budget lasts. */
  extraBrackets?: number;
  /** Seeds averaged for the best GBDT after the brackets (1 = no bagging); see `bagSeeds`. */
  bags?: number;
  maxCategories?: number;
  l2?: number;
  /** Fits at once: 1, or 2 (one on a worker thread); default 2 on a multi-core machine. */
  threads?: number;
  now?: () => number;
  onProgress?: (event: SearchProgress) => void;
}

export interface SearchResult {
  /** Labels of the training rows, by position. */
  y: Uint8Array;
  /** Fold of each training row, by position. */
  fold: Uint8Array;
  k: number;
  evaluations: Evaluation[];
  /** True when the budget ended the search before its plan did. */
  stoppedByBudget: boolean;
  /** Wall time per CPU second of the fits (`fitSlowdown`): how busy the machine was. */
  slowdown: number;
}

/** Share of a rung's candidates promoted to the next (successive halving with η = 3). */
const KEEP = 1 / 3;
/** Fold-fit time of an untried GBDT, as a multiple of the logistic baseline's (measured: 3-5x). */
const GBDT_COST_GUESS = 5;
/**
 * CPU time per tree of the final model spent after the refit (parity run, TreeSHAP for the report's sample,
 * explainer): measured about 3 ms on Telco at depth 5–6 (2.2 s for about 500 trees, 5.3 s for about 1,600).
 */
const TREE_EXPORT_MS = 3;
/** Candidates per perturbation bracket. */
const PERTURBED = 6;

/**
 * AutoML by successive halving over cross-validation folds. The plain logistic baseline is always
 * cross-validated on every fold first. Then each bracket evaluates all its candidates on one fold, keeps
 * the best third (and the best of each family, which ensembles want) for a second fold, and the best third
 * of those for the remaining folds. Candidates are ranked by out-of-fold log loss after Platt scaling,
 * compared on the same folds. The first bracket is a fixed grid; later ones perturb the best GBDTs.
 * Before every fit the budget is checked against the fit's estimated time plus what the final refit of
 * the likely winners and the export will need; when it would not fit, the search stops. Fits run two at a
 * time on a multi-core machine (fold-runner.ts); results are recorded by fold, so they do not depend on it.
 */
export async function searchModels(options: SearchOptions): Promise<SearchResult> {
  const now = options.now ?? (() => performance.now());
  const { dataset, rows } = options;
  const y = Uint8Array.from(rows, (r) => dataset.target.y[r]!);
  const k = options.folds;
  const fold = stratifiedFolds(y, k, options.seed);
  const evaluations: Evaluation[] = [];
  const seen = new Set<string>();
  const deadline = options.startedAt + options.budgetMs;
  let fits = 0;
  let stoppedByBudget = false;

  const foldRows = Array.from({ length: k }, (_, f) => ({
    train: rows.filter((_, i) => fold[i] !== f),
    testPositions: positionsOf(fold, f),
  }));
  // Wall and CPU seconds of the fits so far: how much other work on the machine slows this run.
  let fitWall = 0;
  let fitCpu = 0;
  const measure = (outcome: FoldOutcome) => {
    fitWall += outcome.seconds;
    fitCpu += outcome.cpuSeconds;
  };
  const slowdown = () => fitSlowdown(fitWall, fitCpu);

  const runner = openFoldRunner(
    {
      dataset,
      foldTrain: foldRows.map((f) => f.train),
      foldTest: foldRows.map((f) => f.testPositions.map((i) => rows[i]!)),
    },
    foldThreads(options.threads),
  );
  try {
    return await search();
  } finally {
    runner.close();
  }

  async function search(): Promise<SearchResult> {
    const space: SpaceOptions = {
      families: options.families,
      seed: options.seed,
      ...(options.maxCategories !== undefined ? { maxCategories: options.maxCategories } : {}),
      ...(options.l2 !== undefined ? { l2: options.l2 } : {}),
    };

    const register = (candidate: Candidate, bracket: number): Evaluation => {
      seen.add(candidate.id);
      const evaluation: Evaluation = {
        candidate,
        oof: new Float64Array(rows.length).fill(Number.NaN),
        folds: [],
        foldSeconds: [],
        foldRounds: [],
        score: Number.POSITIVE_INFINITY,
        status: "out-of-budget",
        bracket,
      };
      return evaluation;
    };

    /** Trees the final model will hold for `e`: its folds' mean, once per bagged seed. */
    const treesOf = (e: Evaluation) =>
      (sum(recorded(e, e.foldRounds)) / Math.max(e.folds.length, 1)) * (e.seeds?.length ?? 1);
    const meanMs = (e: Evaluation) => (1000 * sum(recorded(e, e.foldSeconds))) / Math.max(e.folds.length, 1);
    const estimateMs = (e: Evaluation): number => {
      if (e.folds.length > 0) return meanMs(e);
      const family = evaluations.filter(
        (o) => o.candidate.family === e.candidate.family && o.folds.length > 0,
      );
      if (family.length > 0) return (1.2 * sum(family.map(meanMs))) / family.length;
      const any = evaluations.filter((o) => o.folds.length > 0);
      return any.length > 0 ? (GBDT_COST_GUESS * sum(any.map(meanMs))) / any.length : 0;
    };
    // Refitting on all training rows costs about k/(k−1) of a fold fit, for each likely ensemble member.
    // Fit times are wall times and already include any slowdown; the fixed overhead and the CPU-time
    // estimate of exporting trees are idle-machine figures and are scaled by it.
    const reserveMs = (): number => {
      const ranked = evaluations.filter((e) => e.folds.length > 0).sort((a, b) => a.score - b.score);
      const members = ranked.slice(0, options.maxMembers);
      return options.overheadMs * slowdown() + (1.3 * k * sum(members.map(meanMs))) / (k - 1);
    };
    const affordable = (e: Evaluation) => now() + estimateMs(e) + reserveMs() <= deadline;

    const best = () => {
      let top: Evaluation | undefined;
      for (const e of evaluations) if (e.folds.length > 0 && (!top || e.score < top.score)) top = e;
      return top;
    };

    /** Records one fold's fit of `e`: its out-of-fold margins, time and length, by fold. */
    const record = (e: Evaluation, f: number, outcome: FoldOutcome) => {
      measure(outcome);
      foldRows[f]!.testPositions.forEach((position, i) => {
        e.oof[position] = outcome.margins[i]!;
      });
      e.folds.push(f);
      e.folds.sort((a, b) => a - b);
      e.foldSeconds[f] = outcome.seconds;
      if (outcome.rounds !== undefined) e.foldRounds[f] = outcome.rounds;
      e.score = plattLogLoss(e.oof, y);
      fits++;
      const top = best();
      options.onProgress?.({
        phase: "search",
        candidate: describeCandidate(e.candidate),
        fold: f + 1,
        folds: k,
        evaluatedFits: fits,
        elapsedMs: now() - options.startedAt,
        budgetMs: options.budgetMs,
        ...(top ? { best: { candidate: describeCandidate(top.candidate), score: top.score } } : {}),
      });
    };

    /**
     * Cross-validates each evaluation up to `folds` folds; false when the budget stopped it. Folds are
     * admitted in order, so an evaluation's folds are always 0..n−1.
     */
    const evaluateFolds = async (
      targets: readonly Evaluation[],
      folds: number,
      force = false,
      /** Trees (epochs) every fit grows exactly; the budget then cuts none of them. */
      rounds?: number,
    ) => {
      const jobs: (FoldJob & { evaluation: Evaluation })[] = [];
      for (const e of targets) {
        for (let f = e.folds.length; f < folds; f++)
          jobs.push({
            candidate: e.candidate,
            fold: f,
            evaluation: e,
            ...(rounds !== undefined ? { rounds } : {}),
          });
      }
      const ran = await runner.run(
        jobs,
        (job) => {
          if (!force && !affordable((job as (typeof jobs)[number]).evaluation)) return false;
          // A fit whose estimate was wrong must still end in time: trees stop growing at the point
          // where the reserve for the refit and export begins (wall clock, which threads share).
          if (job.rounds === undefined) job.stopAt = Date.now() + (deadline - reserveMs() - now());
          return true;
        },
        (job, outcome) => record((job as (typeof jobs)[number]).evaluation, job.fold, outcome),
      );
      if (!ran) stoppedByBudget = true;
      return ran;
    };

    /**
     * Seed bagging of the best GBDT: the same candidate refitted on every fold with other seeds (so other
     * row and column samples), keeping each fold's tree count, and the out-of-fold margins averaged. Averaging
     * seeds removes the luck of one sample from the model and from its CV score, which the ensemble and the
     * calibration are then chosen on. It runs only when all its seeds fit the budget.
     */
    const bagBestGbdt = async (bags: number): Promise<void> => {
      const best = evaluations
        .filter((e) => e.status === "complete" && e.candidate.family === "gbdt")
        .sort((a, b) => a.score - b.score)[0];
      if (best?.candidate.family !== "gbdt") return;
      const parent = best.candidate;
      // Per seed: k fits of fixed length (about 0.6 of an early-stopped search fit), then, after the search,
      // one more final refit and the export of its trees. All seeds or none, so a run bags the same way
      // whenever it bags; bagging is optional, so on a busy machine it gives way rather than overrun.
      const extra = bagSeeds(parent.params.seed, bags).slice(1);
      const seedMs =
        meanMs(best) * (0.6 * k + (1.3 * k) / (k - 1)) + TREE_EXPORT_MS * treesOf(best) * slowdown();
      if (now() + extra.length * seedMs + reserveMs() > deadline) {
        stoppedByBudget = true;
        return;
      }
      const jobs: FoldJob[] = [];
      for (const seed of extra) {
        const candidate: Candidate = { ...parent, params: { ...parent.params, seed } };
        for (let f = 0; f < k; f++) jobs.push({ candidate, fold: f, rounds: best.foldRounds[f]! });
      }
      const margins = new Map<FoldJob, Float32Array>();
      await runner.run(
        jobs,
        () => true,
        (job, outcome) => {
          measure(outcome);
          margins.set(job, outcome.margins);
          fits++;
        },
      );
      // Summed in job order, whatever order the fits finished in, so the float sums are reproducible.
      const sums = Float64Array.from(best.oof);
      for (const job of jobs) {
        const m = margins.get(job)!;
        foldRows[job.fold]!.testPositions.forEach((position, i) => {
          sums[position]! += m[i]!;
        });
      }
      const seeds = [parent.params.seed, ...extra];
      best.seeds = seeds;
      best.oof = sums.map((s) => s / seeds.length);
      best.score = plattLogLoss(best.oof, y);
    };

    const rungs = k >= 5 ? [1, 2, k] : k >= 3 ? [1, k] : [k];

    /** One successive-halving bracket; false when the budget ran out. */
    const runBracket = async (candidates: readonly Candidate[], bracket: number): Promise<boolean> => {
      let alive = candidates.map((c) => register(c, bracket));
      evaluations.push(...alive);
      for (const rung of rungs) {
        if (!(await evaluateFolds(alive, rung))) return false;
        if (rung === k) {
          for (const e of alive) e.status = "complete";
          return true;
        }
        const ranked = [...alive].sort((a, b) => a.score - b.score);
        const keep = new Set(ranked.slice(0, Math.max(2, Math.ceil(ranked.length * KEEP))));
        for (const family of new Set(ranked.map((e) => e.candidate.family))) {
          keep.add(ranked.find((e) => e.candidate.family === family)!);
        }
        for (const e of alive) if (!keep.has(e)) e.status = "pruned";
        alive = ranked.filter((e) => keep.has(e));
      }
      return true;
    };

    if (options.fixed) {
      const fixed = register(options.fixed, 0);
      evaluations.push(fixed);
      await evaluateFolds([fixed], k, true, exactLength(options.fixed));
      fixed.status = "complete";
      return { y, fold, k, evaluations, stoppedByBudget, slowdown: Number(slowdown().toFixed(2)) };
    }

    // The baseline always completes, so there is a model however small the budget.
    const baseline = register(
      options.families.includes("logistic_regression")
        ? baselineCandidate(space)
        : initialCandidates(space)[0]!,
      0,
    );
    evaluations.push(baseline);
    await evaluateFolds([baseline], k, true);
    baseline.status = "complete";

    const first = initialCandidates(space).filter((c) => !seen.has(c.id));
    let budgetLeft = first.length === 0 || (await runBracket(first, 1));
    for (let bracket = 2; budgetLeft && bracket < 2 + (options.extraBrackets ?? 2); bracket++) {
      const leaders = (family: SearchFamily, count: number) =>
        evaluations
          .filter((e) => e.status === "complete" && e.candidate.family === family)
          .sort((a, b) => a.score - b.score)
          .slice(0, count)
          .map((e) => e.candidate);
      const next = perturbedCandidates(leaders("gbdt", 2), PERTURBED, space, bracket, seen);
      if (next.length === 0) break;
      budgetLeft = await runBracket(next, bracket);
    }
    if (budgetLeft && (options.bags ?? 1) > 1) await bagBestGbdt(options.bags!);
    // Registered but never fitted: nothing to report.
    return {
      y,
      fold,
      k,
      evaluations: evaluations.filter((e) => e.folds.length > 0),
      stoppedByBudget,
      slowdown: Number(slowdown().toFixed(2)),
    };
  }
}

/**
 * Wall time per CPU second of the fits: 1 on an idle machine, about 3 when each fitting thread gets a third
 * of a core. Measured per thread, so two threads fitting at once on two idle cores still read 1. Taken as 1
 * until half a second of fitting gives a stable ratio.
 */
export function fitSlowdown(wallSeconds: number, cpuSeconds: number): number {
  return cpuSeconds < 0.5 ? 1 : Math.max(1, wallSeconds / cpuSeconds);
}

/** The candidate's label, with the number of seeds when bagged. */
export function describeEvaluation(e: Evaluation): string {
  const label = describeCandidate(e.candidate);
  return e.seeds ? `${label}, ${e.seeds.length} seeds` : label;
}

/**
 * Seeds of a bagged GBDT: the run's seed first (the fit the search already made), then seeds far enough
 * apart that their row and column samples are unrelated.
 */
export function bagSeeds(seed: number, bags: number): number[] {
  return Array.from({ length: bags }, (_, b) => seed + 7919 * b);
}

/** Platt-scaled log loss over the rows that have a margin. */
export function plattLogLoss(margins: Float64Array, y: Uint8Array): number {
  const m: number[] = [];
  const labels: number[] = [];
  for (let i = 0; i < margins.length; i++) {
    if (Number.isNaN(margins[i]!)) continue;
    m.push(margins[i]!);
    labels.push(y[i]!);
  }
  if (m.length === 0) return Number.POSITIVE_INFINITY;
  const platt = fitPlatt(m, labels);
  return logLoss(labels, calibrate({ method: "platt", ...platt }, m));
}

/**
 * Per-fold values of the folds recorded so far. Two folds of one candidate may finish out of order, so
 * the arrays indexed by fold can have a hole until the earlier one arrives.
 */
function recorded(e: Evaluation, byFold: readonly number[]): number[] {
  const out: number[] = [];
  for (const f of e.folds) if (byFold[f] !== undefined) out.push(byFold[f]!);
  return out;
}

function positionsOf(fold: Uint8Array, f: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < fold.length; i++) if (fold[i] === f) out.push(i);
  return out;
}

function sum(values: readonly number[]): number {
  let s = 0;
  for (const v of values) s += v;
  return s;
}
