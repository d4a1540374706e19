import type { Alert, AlertKind, AlertRules } from "#shared/alerts.ts";
import { newId } from "#shared/ids.ts";
import type { MonitoringSnapshot } from "#shared/monitoring.ts";
import { toIso } from "#shared/time.ts";
import type { Db, DbOrTx } from "../../platform/db/client.ts";
import type { AlertRow } from "../../platform/db/schema/index.ts";
import { writeTransaction } from "../../platform/db/write-transaction.ts";
import { appendAudit, SCHEDULER_AUDIT } from "../audit/audit.ts";
import { openJobOf, requestJobInTx } from "../retraining/jobs.ts";
import { getRetrainingPolicy } from "../retraining/policy.ts";
import { firingKinds, insertAlert, openAlert, tenantAlerts, updateAlert } from "./queries.ts";
import { getAlertRules } from "./rules.ts";
import { enqueueDeliveries } from "./webhooks.ts";

/** The tenant's alerts, newest first. */
export async function listAlerts(
  db: DbOrTx,
  tenantId: string,
  state: "firing" | "resolved" | undefined,
  limit: number,
): Promise<Alert[]> {
  return (await tenantAlerts(db, tenantId, state, limit)).map(toAlert);
}

export function toAlert(row: AlertRow): Alert {
  return {
    id: row.id,
    kind: row.kind,
    state: row.state,
    value: row.value,
    lastValue: row.lastValue,
    threshold: row.threshold,
    versionId: row.versionId,
    firedAt: toIso(row.firedAt),
    resolvedAt: row.resolvedAt !== null ? toIso(row.resolvedAt) : null,
  };
}

/**
 * The number each rule compares with its threshold, or null when the snapshot cannot say (too few records,
 * no labels-free estimate, no training AUC). A null value leaves an alert's state as it is: silence is not
 * recovery.
 */
export function ruleValues(snapshot: MonitoringSnapshot): Record<AlertKind, number | null> {
  if (snapshot.drift.status === "quiet") {
    return { drift_score: null, estimated_auc_drop: null, data_quality: null };
  }
  const { estimated, trainingAuc } = snapshot.performance;
  const q = snapshot.quality;
  const rates = [q.schemaViolationRate, q.outOfRangeRate, q.unseenCategoryRate, q.missingRateJump].filter(
    (v): v is number => v !== null,
  );
  return {
    drift_score: snapshot.drift.score,
    estimated_auc_drop: estimated.auc !== null && trainingAuc !== null ? trainingAuc - estimated.auc : null,
    data_quality: rates.length > 0 ? Math.max(...rates) : null,
  };
}

const THRESHOLD_OF: Record<AlertKind, keyof AlertRules> = {
  drift_score: "driftScore",
  estimated_auc_drop: "estimatedAucDrop",
  data_quality: "dataQualityRate",
};

export interface AlertTransition {
  alert: Alert;
  event: "alert.fire" | "alert.resolve";
  jobId: string | null;
}

/**
 * Compares the snapshot with the tenant's rules. A condition that starts holding fires one alert; while it
 * holds, later evaluations only update its latest value; when it no longer holds (or the rule is switched
 * off) the alert resolves. Each transition commits with its audit entry, its webhook deliveries and, under
 * an `alert` retraining policy, the retraining job it requests.
 */
export async function evaluateAlerts(
  db: Db,
  tenantId: string,
  snapshot: MonitoringSnapshot,
  now: number,
): Promise<AlertTransition[]> {
  const rules = await getAlertRules(db, tenantId);
  const values = ruleValues(snapshot);
  const firing = await firingKinds(db, tenantId);
  const transitions: AlertTransition[] = [];
  for (const kind of Object.keys(THRESHOLD_OF) as AlertKind[]) {
    const threshold = rules[THRESHOLD_OF[kind]];
    const value = values[kind];
    // The usual case, nothing firing and nothing to fire, takes no write lock (ingest shares the database).
    const fires = threshold !== null && value !== null && value >= threshold;
    if (!firing.has(kind) && !fires) continue;
    const transition = await writeTransaction(db, async (tx) => {
      const open = await openAlert(tx, tenantId, kind);
      if (open) {
        if (threshold !== null && value === null) return null;
        if (threshold !== null && value !== null && value >= threshold) {
          await updateAlert(tx, open.id, { lastValue: value });
          return null;
        }
        const resolved: AlertRow = {
          ...open,
          state: "resolved",
          resolvedAt: now,
          lastValue: value ?? open.lastValue,
        };
        await updateAlert(tx, open.id, { state: "resolved", resolvedAt: now, lastValue: resolved.lastValue });
        return record(
          tx,
          resolved,
          "alert.resolve",
          threshold === null ? "rule switched off" : "condition cleared",
        );
      }
      if (threshold === null || value === null || value < threshold) return null;
      const row: AlertRow = {
        id: newId("alert"),
        tenantId,
        kind,
        state: "firing",
        value,
        lastValue: value,
        threshold,
        versionId: snapshot.versionId,
        firedAt: now,
        resolvedAt: null,
        createdAt: now,
      };
      await insertAlert(tx, row);
      return record(tx, row, "alert.fire", null);
    });
    if (transition) transitions.push(transition);
  }
  return transitions;

  async function record(
    tx: DbOrTx,
    row: AlertRow,
    event: "alert.fire" | "alert.resolve",
    why: string | null,
  ): Promise<AlertTransition> {
    const alert = toAlert(row);
    await appendAudit(tx, SCHEDULER_AUDIT, {
      tenantId,
      action: event,
      targets: [{ type: "alert", id: row.id }],
      details: {
        kind: row.kind,
        value: row.lastValue,
        threshold: row.threshold,
        versionId: row.versionId,
        ...(why ? { reason: why } : {}),
      },
    });
    await enqueueDeliveries(tx, tenantId, event, alert, now);
    let jobId: string | null = null;
    if (event === "alert.fire") {
      const policy = await getRetrainingPolicy(tx, tenantId);
      if (policy.trigger === "alert" && policy.dataSource !== null && !(await openJobOf(tx, tenantId))) {
        const job = await requestJobInTx(tx, SCHEDULER_AUDIT, tenantId, policy, {
          trigger: "alert",
          reason: `${row.kind} ${row.value.toFixed(4)} ≥ ${row.threshold}`,
          alertId: row.id,
          now,
        });
        jobId = job.id;
      }
    }
    return { alert, event, jobId };
  }
}
