import type { Db } from "../db/client.ts";
import { deliveryOutcomes, firingAlertCounts, jobsByState } from "../db/queries/gauges.ts";

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
  const jobs = await jobsByState(db);
  const byState = new Map(jobs.map((j) => [j.state, j.n]));

  const outcomes = await deliveryOutcomes(db);

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
    const firing = await firingAlertCounts(db);
    out += family(
      "churn_alerts_firing",
      "gauge",
      "Alerts firing now, by tenant and rule",
      firing.map((f) => [`{tenant="${label(f.tenantId)}",rule="${label(f.kind)}"}`, f.n]),
    );
  }
  return out;
}
