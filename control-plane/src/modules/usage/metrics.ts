import { monthOf } from "#shared/time.ts";
import type { Usage } from "#shared/usage.ts";
import type { Db } from "../../platform/db/client.ts";
import type { EdgeStore } from "../../platform/edge-store/edge-store.ts";
import { tenantsWithPredictionQuotas } from "../deployments/rate-limits.ts";
import { usageOf } from "./usage.ts";

/** Tenants with their own series: those with a quota (theirs or a client's), at most this many, by id. */
export const MAX_QUOTA_TENANTS = 100;
/** Per tenant, clients with a quota of their own get series, the busiest this many. */
export const MAX_QUOTA_CLIENTS = 20;
/** Usage is re-read from the edge store at most this often; scrapes in between read the cached values. */
export const QUOTA_GAUGE_REFRESH_MS = 60_000;

const label = (v: string) => v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");

function family(name: string, help: string, samples: [string, number][]): string {
  return `# HELP ${name} ${help}\n# TYPE ${name} gauge\n${samples.map(([labels, v]) => `${name}${labels} ${v}\n`).join("")}`;
}

/**
 * This month's predictions against the monthly quotas, by tenant (no `client` label: the tenant-wide
 * count) and by client with a quota of its own. Tenant ids are customer identifiers: like the monitoring
 * gauges, these are served only to scrapes presenting METRICS_TOKEN.
 */
export class QuotaMetrics {
  #cached: { at: number; tenants: { tenantId: string; usage: Usage }[] } | null = null;
  #refreshing: Promise<void> | null = null;

  async refresh(db: Db, edge: EdgeStore, now = Date.now()): Promise<void> {
    const month = monthOf(now);
    const tenants = (await tenantsWithPredictionQuotas(db)).slice(0, MAX_QUOTA_TENANTS);
    const read: { tenantId: string; usage: Usage }[] = [];
    for (const tenantId of tenants) {
      try {
        read.push({ tenantId, usage: await usageOf(db, edge, tenantId, month) });
      } catch {
        // One tenant's unreadable usage leaves its series out of this scrape, not the whole exposition.
      }
    }
    this.#cached = { at: now, tenants: read };
  }

  async render(
    db: Db,
    edge: EdgeStore,
    options: { tenantSeries: boolean },
    now = Date.now(),
  ): Promise<string> {
    if (!options.tenantSeries) return "";
    if (!this.#cached) await this.#refreshOnce(db, edge, now);
    else if (now - this.#cached.at >= QUOTA_GAUGE_REFRESH_MS)
      void this.#refreshOnce(db, edge, now).catch(() => undefined);
    const used: [string, number][] = [];
    const limits: [string, number][] = [];
    for (const { tenantId, usage } of this.#cached?.tenants ?? []) {
      const tenant = `tenant="${label(tenantId)}"`;
      used.push([`{${tenant}}`, usage.tenant.used]);
      if (usage.tenant.limit !== null) limits.push([`{${tenant}}`, usage.tenant.limit]);
      const withQuota = usage.clients
        .filter((c) => c.limit !== null && !c.revoked)
        .slice(0, MAX_QUOTA_CLIENTS);
      for (const client of withQuota) {
        const labels = `{${tenant},client="${label(client.id)}"}`;
        used.push([labels, client.used]);
        limits.push([labels, client.limit!]);
      }
    }
    return (
      family(
        "churn_prediction_quota_used",
        "Predictions scored this UTC month, tenant-wide (no client label) and per client with its own quota",
        used,
      ) +
      family(
        "churn_prediction_quota_limit",
        "Monthly prediction quotas, the tenant's and clients' own",
        limits,
      )
    );
  }

  #refreshOnce(db: Db, edge: EdgeStore, now: number): Promise<void> {
    this.#refreshing ??= this.refresh(db, edge, now).finally(() => {
      this.#refreshing = null;
    });
    return this.#refreshing;
  }
}
