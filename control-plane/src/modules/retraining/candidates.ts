import { ChurnError } from "#shared/errors.ts";
import { newId } from "#shared/ids.ts";
import type { Candidate, CompleteRequest, HoldoutScores, RetrainingPolicy } from "#shared/retraining.ts";
import { toIso } from "#shared/time.ts";
import type { Db, Tx } from "../../platform/db/client.ts";
import type { RetrainingCandidateRow } from "../../platform/db/schema/index.ts";
import { writeTransaction } from "../../platform/db/write-transaction.ts";
import type { EdgeStore } from "../../platform/edge-store/edge-store.ts";
import { type AuditContext, appendAudit } from "../audit/audit.ts";
import { updateDeployment } from "../deployments/deployments.ts";
import { estimatedAuc } from "../monitoring/performance.ts";
import { getTenantVersion } from "../registry/registry.ts";
import { heldJob } from "./jobs.ts";
import { getRetrainingPolicy } from "./policy.ts";
import {
  binnedScores,
  canaryCandidates,
  candidateState,
  deploymentRow,
  insertCandidate,
  newestCandidates,
  tenantCandidate,
  updateCandidate,
} from "./queries/candidates.ts";
import { updateJob } from "./queries/jobs.ts";

export function toCandidate(row: RetrainingCandidateRow): Candidate {
  return {
    id: row.id,
    jobId: row.jobId,
    versionId: row.versionId,
    productionVersionId: row.productionVersionId,
    state: row.state,
    gate: JSON.parse(row.gate) as Candidate["gate"],
    holdout: JSON.parse(row.holdout) as Candidate["holdout"],
    reason: row.reason,
    canaryWeight: row.canaryWeight,
    promotion: row.promotion,
    canaryStartedAt: row.canaryStartedAt !== null ? toIso(row.canaryStartedAt) : null,
    decidedAt: row.decidedAt !== null ? toIso(row.decidedAt) : null,
    createdAt: toIso(row.createdAt),
  };
}

export type GateVerdict = { pass: true; improvement: number } | { pass: false; reason: string };

/**
 * The champion/challenger gate: on the common holdout, the candidate must beat production by at least the
 * margin: AUC higher by `margin`, or log loss lower by `margin` (nats).
 */
export function judgeCandidate(
  gate: RetrainingPolicy["gate"],
  candidate: HoldoutScores,
  production: HoldoutScores | null,
): GateVerdict {
  if (production === null)
    return { pass: false, reason: "no production model was evaluated to compare with" };
  const fmt = (v: number) => v.toFixed(4);
  if (gate.metric === "auc") {
    const improvement = candidate.auc - production.auc;
    if (improvement >= gate.margin) return { pass: true, improvement };
    return {
      pass: false,
      reason: `holdout AUC ${fmt(candidate.auc)} vs production ${fmt(production.auc)}: improvement ${fmt(improvement)} is below the margin ${gate.margin}`,
    };
  }
  const improvement = production.logLoss - candidate.logLoss;
  if (improvement >= gate.margin) return { pass: true, improvement };
  return {
    pass: false,
    reason: `holdout log loss ${fmt(candidate.logLoss)} vs production ${fmt(production.logLoss)}: improvement ${fmt(improvement)} is below the margin ${gate.margin}`,
  };
}

/**
 * The worker's report: the job succeeds, and the candidate goes through the gate. Rejected, it is recorded
 * with the reason and production is untouched; passed, it becomes the canary at the policy's weight in one
 * deployment revision, committed with the candidate, the job's completion and their audit entries.
 */
export async function completeJob(
  db: Db,
  edge: EdgeStore,
  audit: AuditContext,
  tenantId: string,
  jobId: string,
  report: CompleteRequest,
  now = Date.now(),
): Promise<Candidate> {
  // Checked before any work (and again inside the transaction that records the outcome).
  const job = await heldJob(db, tenantId, jobId, report.leaseToken, now);
  await getTenantVersion(db, tenantId, report.candidateVersionId);
  const policy = await getRetrainingPolicy(db, tenantId);
  const deployment = await deploymentRow(db, tenantId);

  let verdict = judgeCandidate(policy.gate, report.holdout.candidate, report.holdout.production);
  if (verdict.pass && (!deployment || deployment.productionVersionId !== job.productionVersionId)) {
    verdict = { pass: false, reason: "production changed while the job ran; its comparison is stale" };
  }
  if (verdict.pass && deployment?.canaryVersionId) {
    verdict = { pass: false, reason: `a canary (${deployment.canaryVersionId}) is already running` };
  }
  if (verdict.pass && report.candidateVersionId === deployment?.productionVersionId) {
    verdict = { pass: false, reason: "the candidate is the production version" };
  }

  const row: RetrainingCandidateRow = {
    id: newId("candidate"),
    tenantId,
    jobId,
    versionId: report.candidateVersionId,
    productionVersionId: job.productionVersionId,
    state: verdict.pass ? "canary" : "rejected",
    gate: JSON.stringify(policy.gate),
    holdout: JSON.stringify(report.holdout),
    reason: verdict.pass ? null : verdict.reason,
    canaryWeight: verdict.pass ? policy.canaryWeight : null,
    promotion: policy.promotion.mode,
    canaryStartedAt: verdict.pass ? now : null,
    decidedAt: verdict.pass ? null : now,
    createdAt: now,
  };
  const record = async (tx: Tx) => {
    await heldJob(tx, tenantId, jobId, report.leaseToken, now);
    await insertCandidate(tx, row);
    await updateJob(tx, jobId, { state: "succeeded", leaseToken: null, candidateId: row.id, updatedAt: now });
    await appendAudit(tx, audit, {
      tenantId,
      action: "retraining.complete",
      targets: [
        { type: "retraining_job", id: jobId },
        { type: "model_version", id: row.versionId },
      ],
      details: { candidateId: row.id, holdout: report.holdout },
    });
    await appendAudit(tx, audit, {
      tenantId,
      action: verdict.pass ? "candidate.canary" : "candidate.reject",
      targets: [
        { type: "candidate", id: row.id },
        { type: "model_version", id: row.versionId },
      ],
      details: verdict.pass
        ? { weight: policy.canaryWeight, gate: policy.gate, improvement: verdict.improvement }
        : { reason: verdict.reason, gate: policy.gate },
    });
  };
  if (verdict.pass) {
    await updateDeployment(
      db,
      edge,
      audit,
      tenantId,
      {
        production: deployment!.productionVersionId,
        canary: { versionId: row.versionId, weight: policy.canaryWeight },
        shadows: JSON.parse(deployment!.shadowVersionIds) as string[],
        reason: `candidate ${row.id} passed the gate (${policy.gate.metric} +${verdict.improvement.toFixed(4)})`,
      },
      deployment!.revision,
      "deployment.update",
      record,
    );
  } else {
    await writeTransaction(db, record);
  }
  return toCandidate(row);
}

export async function listCandidates(db: Db, tenantId: string, limit = 50): Promise<Candidate[]> {
  return (await newestCandidates(db, tenantId, limit)).map(toCandidate);
}

async function getCandidateRow(db: Db, tenantId: string, id: string): Promise<RetrainingCandidateRow> {
  const row = await tenantCandidate(db, tenantId, id);
  if (!row) throw new ChurnError("NOT_FOUND", `Candidate '${id}' not found`);
  return row;
}

export interface CanaryStats {
  canary: { predictions: number; estimatedAuc: number | null };
  production: { predictions: number; estimatedAuc: number | null };
}

const BINS = 100;

/**
 * Predictions each side of the canary made since it started, and each side's label-free estimated AUC
 * over them, from the stored predictions' probabilities binned in SQL (the rows never leave the database).
 */
export async function canaryStats(db: Db, row: RetrainingCandidateRow): Promise<CanaryStats> {
  const binned = await binnedScores(
    db,
    row.tenantId,
    [row.versionId, ...(row.productionVersionId ? [row.productionVersionId] : [])],
    row.canaryStartedAt ?? 0,
    BINS,
  );
  const side = (variant: "canary" | "production", versionId: string | null) => {
    const counts = new Array<number>(BINS).fill(0);
    const sums = new Array<number>(BINS).fill(0);
    let n = 0;
    for (const b of binned) {
      if (b.variant !== variant || b.versionId !== versionId) continue;
      counts[b.bin] = (counts[b.bin] ?? 0) + Number(b.n);
      sums[b.bin] = (sums[b.bin] ?? 0) + Number(b.sum);
      n += Number(b.n);
    }
    return { predictions: n, estimatedAuc: n > 0 ? estimatedAuc({ counts, sums }) : null };
  };
  return { canary: side("canary", row.versionId), production: side("production", row.productionVersionId) };
}

/** Ends a canary: promoted to production, or taken out (production unchanged). One audited revision. */
async function endCanary(
  db: Db,
  edge: EdgeStore,
  audit: AuditContext,
  row: RetrainingCandidateRow,
  outcome: { promote: true; why: string } | { promote: false; why: string },
  now: number,
): Promise<Candidate> {
  const deployment = await deploymentRow(db, row.tenantId);
  const state: RetrainingCandidateRow["state"] = outcome.promote ? "promoted" : "rolled_back";
  const record = async (tx: Tx) => {
    const current = await candidateState(tx, row.id);
    if (current !== "canary")
      throw new ChurnError("CONFLICT", `Candidate '${row.id}' is ${current}, not in canary`);
    await updateCandidate(tx, row.id, { state, decidedAt: now, reason: outcome.why });
    await appendAudit(tx, audit, {
      tenantId: row.tenantId,
      action: outcome.promote ? "candidate.promote" : "candidate.reject",
      targets: [
        { type: "candidate", id: row.id },
        { type: "model_version", id: row.versionId },
      ],
      details: { reason: outcome.why, previousProduction: row.productionVersionId },
    });
  };
  if (!deployment || deployment.canaryVersionId !== row.versionId) {
    // Someone changed the deployment by hand: the canary is gone already, so only the record follows.
    await writeTransaction(db, record);
    return toCandidate({ ...row, state, decidedAt: now, reason: outcome.why });
  }
  await updateDeployment(
    db,
    edge,
    audit,
    row.tenantId,
    {
      production: outcome.promote ? row.versionId : deployment.productionVersionId,
      canary: null,
      shadows: JSON.parse(deployment.shadowVersionIds) as string[],
      reason: `candidate ${row.id} ${outcome.promote ? "promoted" : "taken out of canary"}: ${outcome.why}`,
    },
    deployment.revision,
    "deployment.update",
    record,
  );
  return toCandidate({ ...row, state, decidedAt: now, reason: outcome.why });
}

/** Manual approval: promotes a candidate in canary now, whatever its counts. */
export async function approveCandidate(
  db: Db,
  edge: EdgeStore,
  audit: AuditContext,
  tenantId: string,
  id: string,
): Promise<Candidate> {
  const row = await getCandidateRow(db, tenantId, id);
  if (row.state !== "canary")
    throw new ChurnError("CONFLICT", `Candidate '${id}' is ${row.state}, not in canary`);
  return endCanary(db, edge, audit, row, { promote: true, why: "approved" }, Date.now());
}

/** Manual rejection of a canary: it stops serving and production stays. */
export async function rejectCandidate(
  db: Db,
  edge: EdgeStore,
  audit: AuditContext,
  tenantId: string,
  id: string,
  reason: string | undefined,
): Promise<Candidate> {
  const row = await getCandidateRow(db, tenantId, id);
  if (row.state !== "canary")
    throw new ChurnError("CONFLICT", `Candidate '${id}' is ${row.state}, not in canary`);
  return endCanary(db, edge, audit, row, { promote: false, why: reason ?? "rejected by hand" }, Date.now());
}

/**
 * The scheduler's promotion check for every canary under automatic promotion: once the canary has made
 * `minPredictions` predictions, it is promoted if its estimated AUC is not below production's (within the
 * tolerance), otherwise taken out. A canary whose deployment was changed by hand is closed as rolled back.
 */
export async function checkCanaries(
  db: Db,
  edge: EdgeStore,
  audit: AuditContext,
  now: number,
): Promise<Candidate[]> {
  const rows = await canaryCandidates(db);
  const decided: Candidate[] = [];
  for (const row of rows) {
    const deployment = await deploymentRow(db, row.tenantId);
    if (deployment?.canaryVersionId !== row.versionId) {
      decided.push(
        await endCanary(
          db,
          edge,
          audit,
          row,
          { promote: false, why: "canary removed from the deployment" },
          now,
        ),
      );
      continue;
    }
    if (row.promotion !== "auto") continue;
    const policy = await getRetrainingPolicy(db, row.tenantId);
    const stats = await canaryStats(db, row);
    if (stats.canary.predictions < policy.promotion.minPredictions) continue;
    const c = stats.canary.estimatedAuc;
    const p = stats.production.estimatedAuc;
    const counts = `${stats.canary.predictions} canary predictions`;
    if (c !== null && p !== null && c < p - policy.promotion.tolerance) {
      const why = `${counts}: estimated AUC ${c.toFixed(4)} below production's ${p.toFixed(4)} beyond the tolerance ${policy.promotion.tolerance}`;
      decided.push(await endCanary(db, edge, audit, row, { promote: false, why }, now));
    } else {
      const why = `${counts}; estimated AUC ${c?.toFixed(4) ?? "n/a"} vs production ${p?.toFixed(4) ?? "n/a"}`;
      decided.push(await endCanary(db, edge, audit, row, { promote: true, why }, now));
    }
  }
  return decided;
}
