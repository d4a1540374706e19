import { spreadPositions } from "../split.ts";
import type { Evaluation } from "./search.ts";
import { plattLogLoss } from "./search.ts";

export interface EnsembleChoice {
  members: { evaluation: Evaluation; weight: number }[];
  /** Out-of-fold margin of the weighted average. */
  oof: Float64Array;
  /** Platt-scaled out-of-fold log loss, as for single candidates. */
  score: number;
}

/** An ensemble must beat the best single candidate's CV log loss by more than this (nats). */
export const ENSEMBLE_MARGIN = 0.0005;
/** Candidates an ensemble may draw from beyond the best of each family. */
const RUNNERS_UP = 2;
const WEIGHT_STEP = 0.1;
/**
 * Out-of-fold rows each weighting is scored on, at most (evenly spread). Hundreds of weightings each fit
 * a Platt map; on a large file that would outlast the budget, and 20,000 rows rank them the same. The
 * chosen one is scored again on every row before it is compared with the best single candidate.
 */
export const ENSEMBLE_ROWS = 20_000;

/**
 * Weighted average of the margins of 2-3 fully cross-validated candidates. The pool is the best
 * candidate of each family plus the next two best overall; every pair and triple is tried with
 * weights on a 0.1 grid, each scored like a single candidate (Platt-scaled out-of-fold log loss). Averaging
 * margins (not probabilities) keeps the ensemble's margin a sum of the members' margins, so TreeSHAP and
 * linear contributions still add up to it. Returns undefined unless the best combination beats the best
 * single candidate by ENSEMBLE_MARGIN, which covers the optimism of choosing weights on the same folds.
 */
export function chooseEnsemble(
  evaluations: readonly Evaluation[],
  y: Uint8Array,
  maxMembers = 3,
  /** performance.now() past which no further combination is started (the time budget). */
  deadline = Number.POSITIVE_INFINITY,
): EnsembleChoice | undefined {
  const complete = evaluations.filter((e) => e.status === "complete").sort((a, b) => a.score - b.score);
  if (complete.length < 2 || maxMembers < 2) return undefined;
  const pool: Evaluation[] = [];
  for (const family of new Set(complete.map((e) => e.candidate.family))) {
    pool.push(complete.find((e) => e.candidate.family === family)!);
  }
  // Runners-up come on top of the family leaders, so searching one more family never crowds them out.
  const size = pool.length + RUNNERS_UP;
  for (const e of complete) if (pool.length < size && !pool.includes(e)) pool.push(e);

  const rows = spreadPositions(y.length, ENSEMBLE_ROWS);
  const sampled = rows.length < y.length;
  const ySample = sampled ? Uint8Array.from(rows, (r) => y[r]!) : y;
  /** The weighted margin on `at` (positions into the out-of-fold rows), or on every row. */
  const weighted = (subset: readonly Evaluation[], weights: readonly number[], at?: readonly number[]) => {
    const oof = new Float64Array(at ? at.length : y.length);
    subset.forEach((e, m) => {
      for (let i = 0; i < oof.length; i++) oof[i]! += weights[m]! * e.oof[at ? at[i]! : i]!;
    });
    return oof;
  };
  let best: { subset: Evaluation[]; weights: number[]; score: number } | undefined;
  for (const subset of subsets(pool, Math.min(maxMembers, 3))) {
    if (best && performance.now() > deadline) break;
    for (const weights of weightGrid(subset.length)) {
      const score = plattLogLoss(weighted(subset, weights, sampled ? rows : undefined), ySample);
      if (!best || score < best.score) best = { subset, weights, score };
    }
  }
  if (!best) return undefined;
  const oof = weighted(best.subset, best.weights);
  const score = sampled ? plattLogLoss(oof, y) : best.score;
  const members = best.subset.map((evaluation, m) => ({ evaluation, weight: best.weights[m]! }));
  return score < complete[0]!.score - ENSEMBLE_MARGIN ? { members, oof, score } : undefined;
}

/** All subsets of 2..max items, in pool order. */
function subsets<T>(items: readonly T[], max: number): T[][] {
  const out: T[][] = [];
  const walk = (start: number, chosen: T[]) => {
    if (chosen.length >= 2) out.push([...chosen]);
    if (chosen.length === max) return;
    for (let i = start; i < items.length; i++) walk(i + 1, [...chosen, items[i]!]);
  };
  walk(0, []);
  return out;
}

/** Positive weights on the grid summing to 1, e.g. [0.1, 0.9], …, [0.9, 0.1] for two members. */
function weightGrid(members: number): number[][] {
  const steps = Math.round(1 / WEIGHT_STEP);
  const out: number[][] = [];
  const walk = (left: number, chosen: number[]) => {
    if (chosen.length === members - 1) {
      if (left >= 1) out.push([...chosen, left / steps]);
      return;
    }
    for (let s = 1; s <= left - (members - chosen.length - 1); s++) walk(left - s, [...chosen, s / steps]);
  };
  walk(steps, []);
  return out;
}
