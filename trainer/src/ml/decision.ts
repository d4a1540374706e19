import { ChurnError } from "#shared/errors.ts";

/**
 * The retention campaign the threshold is chosen for. Contacting a customer costs `offerCost`; a
 * customer who would have churned and accepts the offer (probability `offerAcceptance`) is kept, worth
 * `valuePerCustomer`. Customers who would have stayed cost the offer and gain nothing.
 */
export interface DecisionParams {
  valuePerCustomer: number;
  offerCost: number;
  offerAcceptance: number;
}

/** A customer worth 500 kept by a 50 offer that three in ten churners accept: contact above p ≈ 0.33. */
export const DECISION_DEFAULTS: DecisionParams = {
  valuePerCustomer: 500,
  offerCost: 50,
  offerAcceptance: 0.3,
};

export interface ProfitPoint {
  threshold: number;
  /** Mean profit per scored customer when contacting everyone with probability >= threshold. */
  expectedProfit: number;
  /** Share of customers contacted. */
  contactRate: number;
}

export interface Decision extends DecisionParams {
  threshold: number;
  /** Where contacting pays off for a perfectly calibrated probability: cost / (acceptance · value). */
  breakEven: number;
  curve: ProfitPoint[];
}

export function checkDecisionParams(p: DecisionParams): void {
  const fail = (message: string) => {
    throw new ChurnError("INVALID_REQUEST", message);
  };
  if (!(Number.isFinite(p.valuePerCustomer) && p.valuePerCustomer > 0))
    fail(`Value per customer must be > 0, got ${p.valuePerCustomer}`);
  if (!(Number.isFinite(p.offerCost) && p.offerCost >= 0))
    fail(`Offer cost must be >= 0, got ${p.offerCost}`);
  if (!(p.offerAcceptance > 0 && p.offerAcceptance <= 1))
    fail(`Offer acceptance must be in (0, 1], got ${p.offerAcceptance}`);
}

/**
 * Profit of contacting customer i is acceptance · value · y_i − cost, with y_i whether they churned.
 * The curve averages it over the customers at or above each threshold of a 0.01 grid (divided by all
 * customers, so it reads as profit per customer scored).
 */
export function profitCurve(
  y: ArrayLike<number>,
  p: ArrayLike<number>,
  params: DecisionParams,
  steps = 100,
): ProfitPoint[] {
  const n = y.length;
  // Per-customer profit if contacted, bucketed by the grid threshold at or below its probability.
  const gain = new Float64Array(steps + 1);
  const count = new Float64Array(steps + 1);
  for (let i = 0; i < n; i++) {
    const bucket = Math.min(Math.max(Math.floor(p[i]! * steps + 1e-9), 0), steps);
    gain[bucket]! += params.offerAcceptance * params.valuePerCustomer * (y[i] ? 1 : 0) - params.offerCost;
    count[bucket]!++;
  }
  const curve: ProfitPoint[] = new Array(steps + 1);
  let profit = 0;
  let contacted = 0;
  for (let s = steps; s >= 0; s--) {
    profit += gain[s]!;
    contacted += count[s]!;
    curve[s] = {
      threshold: s / steps,
      expectedProfit: n > 0 ? profit / n : 0,
      contactRate: n > 0 ? contacted / n : 0,
    };
  }
  return curve;
}

/**
 * The threshold with the highest expected profit; when several grid points tie (a plateau, common on
 * small data), the middle of the plateau, which is the least sensitive to where the scores fall next.
 */
export function bestThreshold(curve: readonly ProfitPoint[]): number {
  let best = Number.NEGATIVE_INFINITY;
  for (const point of curve) best = Math.max(best, point.expectedProfit);
  const tolerance = 1e-9 * Math.max(1, Math.abs(best));
  const plateau = curve.filter((point) => point.expectedProfit >= best - tolerance);
  // Only the longest contiguous run matters; ties far apart are resolved towards the lower threshold.
  const step = curve.length > 1 ? curve[1]!.threshold - curve[0]!.threshold : 1;
  let runStart = 0;
  let bestRun = { start: 0, length: 0 };
  for (let i = 0; i < plateau.length; i++) {
    const contiguous = i > 0 && Math.abs(plateau[i]!.threshold - plateau[i - 1]!.threshold - step) < 1e-9;
    if (!contiguous) runStart = i;
    if (i - runStart + 1 > bestRun.length) bestRun = { start: runStart, length: i - runStart + 1 };
  }
  return plateau[bestRun.start + Math.floor((bestRun.length - 1) / 2)]!.threshold;
}

export function decide(y: ArrayLike<number>, p: ArrayLike<number>, params: DecisionParams): Decision {
  checkDecisionParams(params);
  const curve = profitCurve(y, p, params);
  return {
    ...params,
    threshold: bestThreshold(curve),
    breakEven: Math.min(1, params.offerCost / (params.offerAcceptance * params.valuePerCustomer)),
    curve,
  };
}
