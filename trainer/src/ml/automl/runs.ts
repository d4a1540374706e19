import { brierScore, logLoss, rocAuc } from "../metrics.ts";
import { sigmoid } from "../models/model.ts";
import { searchedParams } from "./candidates.ts";
import type { EnsembleChoice } from "./ensemble.ts";
import { describeEvaluation, type Evaluation, type EvaluationStatus } from "./search.ts";

/** One experiment run as written to runs.json (and stored by the control plane at publish). */
export interface Run {
  id: string;
  family: "logistic_regression" | "gbdt" | "random_forest" | "mlp" | "ensemble";
  description: string;
  params: Record<string, unknown>;
  /**
   * Over the rows of the folds evaluated: `log_loss_platt` (the selection metric), `log_loss`, `roc_auc`
   * and `brier` of the raw margins' sigmoid, and the number of folds and rows.
   */
  cvMetrics: Record<string, number>;
  /** Fitting and scoring time summed over the folds (ensembles: 0, their weights are searched on CV margins). */
  seconds: number;
  status: EvaluationStatus;
  bracket: number;
  /** The model (or ensemble) that was refitted and exported. */
  selected: boolean;
}

export function runsOf(
  evaluations: readonly Evaluation[],
  y: Uint8Array,
  ensemble: EnsembleChoice | undefined,
  chosen: readonly { evaluation: Evaluation }[],
): Run[] {
  const runs: Run[] = evaluations.map((e) => ({
    id: e.candidate.id,
    family: e.candidate.family,
    description: describeEvaluation(e),
    params: {
      ...searchedParams(e.candidate),
      ...(e.seeds ? { seeds: e.seeds.length } : {}),
      ...(e.foldRounds.length > 0
        ? {
            [e.candidate.family === "mlp" ? "epochs" : "trees"]: Math.round(
              e.foldRounds.reduce((a, b) => a + b, 0) / e.foldRounds.length,
            ),
          }
        : {}),
    },
    cvMetrics: { log_loss_platt: e.score, ...pooledMetrics(e.oof, y, e.folds.length) },
    seconds: Number(e.foldSeconds.reduce((a, b) => a + b, 0).toFixed(3)),
    status: e.status,
    bracket: e.bracket,
    selected: !ensemble && chosen[0]?.evaluation === e,
  }));
  if (ensemble) {
    runs.push({
      id: `ensemble(${ensemble.members.map((m) => `${m.weight}*${m.evaluation.candidate.id}`).join("+")})`,
      family: "ensemble",
      description: `weighted margin average: ${ensemble.members
        .map((m) => `${m.weight} × ${describeEvaluation(m.evaluation)}`)
        .join(" + ")}`,
      params: { members: ensemble.members.map((m) => ({ id: m.evaluation.candidate.id, weight: m.weight })) },
      cvMetrics: {
        log_loss_platt: ensemble.score,
        ...pooledMetrics(ensemble.oof, y, ensemble.members[0]!.evaluation.folds.length),
      },
      seconds: 0,
      status: "complete",
      bracket: Math.max(...ensemble.members.map((m) => m.evaluation.bracket)),
      selected: true,
    });
  }
  return runs;
}

/** Metrics of the raw margins over the rows that have one. */
function pooledMetrics(oof: Float64Array, y: Uint8Array, folds: number): Record<string, number> {
  const m: number[] = [];
  const labels: number[] = [];
  for (let i = 0; i < oof.length; i++) {
    if (Number.isNaN(oof[i]!)) continue;
    m.push(oof[i]!);
    labels.push(y[i]!);
  }
  if (m.length === 0) return { folds, rows: 0 };
  const p = m.map(sigmoid);
  return {
    log_loss: logLoss(labels, p),
    roc_auc: rocAuc(labels, m),
    brier: brierScore(labels, p),
    folds,
    rows: m.length,
  };
}
