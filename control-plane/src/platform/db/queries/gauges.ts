import { count, isNull, ne, or, sql } from "drizzle-orm";
import type { DbOrTx } from "../client.ts";
import {
  alerts,
  deployments,
  modelVersions,
  retrainingJobs,
  tenants,
  webhookDeliveries,
} from "../schema/index.ts";

/**
 * Counts across all tenants for the Prometheus exposition, read at scrape time: they survive restarts and
 * agree across control-plane processes, which in-memory counters would not.
 */

export async function registryCounts(
  db: DbOrTx,
): Promise<{ tenants: number; versions: number; deployments: number }> {
  const [[t], [v], [d]] = await Promise.all([
    db.select({ n: count() }).from(tenants),
    db.select({ n: count() }).from(modelVersions),
    db.select({ n: count() }).from(deployments),
  ]);
  return { tenants: t?.n ?? 0, versions: v?.n ?? 0, deployments: d?.n ?? 0 };
}

export function jobsByState(db: DbOrTx) {
  return db
    .select({ state: retrainingJobs.state, n: count() })
    .from(retrainingJobs)
    .groupBy(retrainingJobs.state);
}

/**
 * Outcomes of webhook delivery attempts: delivered and failed (given up) per delivery, and every failed
 * attempt that was retried. Deliveries dropped with their deleted webhook are not outcomes.
 */
export async function deliveryOutcomes(
  db: DbOrTx,
): Promise<{ delivered: number; failed: number; retrying: number }> {
  const [d] = await db
    .select({
      delivered: sql<number>`coalesce(sum(case when ${webhookDeliveries.state} = 'delivered' then 1 else 0 end), 0)`,
      failed: sql<number>`coalesce(sum(case when ${webhookDeliveries.state} = 'failed' then 1 else 0 end), 0)`,
      retrying: sql<number>`coalesce(sum(case when ${webhookDeliveries.state} = 'pending' then ${webhookDeliveries.attempts} else max(${webhookDeliveries.attempts} - 1, 0) end), 0)`,
    })
    .from(webhookDeliveries)
    .where(or(isNull(webhookDeliveries.lastError), ne(webhookDeliveries.lastError, "webhook deleted")));
  return {
    delivered: Number(d?.delivered ?? 0),
    failed: Number(d?.failed ?? 0),
    retrying: Number(d?.retrying ?? 0),
  };
}

export function firingAlertCounts(db: DbOrTx) {
  return db
    .select({ tenantId: alerts.tenantId, kind: alerts.kind, n: count() })
    .from(alerts)
    .where(isNull(alerts.resolvedAt))
    .groupBy(alerts.tenantId, alerts.kind);
}
