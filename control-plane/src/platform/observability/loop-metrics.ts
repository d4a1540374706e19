import { count, isNull, ne, or, sql } from "drizzle-orm";
import type { Db } from "../db/client.ts";
import { alerts, retrainingJobs, webhookDeliveries } from "../db/schema/index.ts";

/**
 * The alerting and retraining series, counted in the database at scrape time: they survive restarts and
 * agree across control-plane processes, which in-memory counters would not.
 */

const JOB_STATES = ["queued", "running", "succeeded", "failed"] as const;

function family(name: string, type: "gauge" | "counter", help: string, samples: [string, number][]): string {
  return `# HELP ${name} ${help}\n# TYPE ${name} ${type}\n${samples.map(([labels, v]) => `${name}${labels} ${v}\n`).join("")}`;
}

const label = (value: string) => value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");

export async function renderLoopMetrics(db: Db, options: { tenantSeries: boolean }): Promise<string> {
  const jobs = await db
    .select({ state: retrainingJobs.state, n: count() })
    .from(retrainingJobs)
    .groupBy(retrainingJobs.state);
  const byState = new Map(jobs.map((j) => [j.state, j.n]));

  // Outcomes of webhook delivery attempts: delivered and failed (given up) per delivery, and every
  // failed attempt that was retried. Deliveries dropped with their deleted webhook are not outcomes.
  const [d] = await db
    .select({
      delivered: sql<number>`coalesce(sum(case when ${webhookDeliveries.state} = 'delivered' then 1 else 0 end), 0)`,
      failed: sql<number>`coalesce(sum(case when ${webhookDeliveries.state} = 'failed' then 1 else 0 end), 0)`,
      retrying: sql<number>`coalesce(sum(case when ${webhookDeliveries.state} = 'pending' then ${webhookDeliveries.attempts} else max(${webhookDeliveries.attempts} - 1, 0) end), 0)`,
    })
    .from(webhookDeliveries)
    .where(or(isNull(webhookDeliveries.lastError), ne(webhookDeliveries.lastError, "webhook deleted")));
  const outcomes = {
    delivered: Number(d?.delivered ?? 0),
    failed: Number(d?.failed ?? 0),
    retrying: Number(d?.retrying ?? 0),
  };

  let out =
    family(
      "churn_retraining_jobs",
      "gauge",
      "Retraining jobs by state, all tenants",
      JOB_STATES.map((s) => [`{state="${s}"}`, byState.get(s) ?? 0]),
    ) +
    family(
      "churn_alert_notifications_total",
      "counter",
      "Webhook notification outcomes: deliveries delivered or given up, and failed attempts retried",
      Object.entries(outcomes).map(([o, n]) => [`{outcome="${o}"}`, n]),
    );
  if (options.tenantSeries) {
    const firing = await db
      .select({ tenantId: alerts.tenantId, kind: alerts.kind, n: count() })
      .from(alerts)
      .where(isNull(alerts.resolvedAt))
      .groupBy(alerts.tenantId, alerts.kind);
    out += family(
      "churn_alerts_firing",
      "gauge",
      "Alerts firing now, by tenant and rule",
      firing.map((f) => [`{tenant="${label(f.tenantId)}",rule="${label(f.kind)}"}`, f.n]),
    );
  }
  return out;
}
