import type { MonitoringSnapshot } from "#shared/monitoring.ts";
import { HOUR_MS } from "#shared/time.ts";
import type { Db } from "../../platform/db/client.ts";
import { Counter, Histogram } from "../../platform/observability/prometheus.ts";
import { hourOf, type IngestResult, type VariantTotalsByVariant, variantTotals } from "./ingest.ts";
import { busiestDeployedTenants, variantsOfHour } from "./queries/hours.ts";
import { computeSnapshot, liveVersion } from "./snapshot.ts";

/** Tenants with their own label value; the rest are summed under tenant="other". */
export const MAX_TENANT_LABELS = 100;
/** Per-feature PSI is exported for this many features per tenant, the most important first. */
export const MAX_FEATURE_LABELS = 10;
/** Monitoring gauges are recomputed at most this often; scrapes in between read the cached values. */
export const GAUGE_REFRESH_MS = 60_000;

const BATCH_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

type Labels = Record<string, string>;
interface Sample {
  labels: Labels;
  value: number;
}

const escapeLabel = (v: string) => v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");

function renderGauges(name: string, help: string, samples: Sample[]): string {
  let out = `# HELP ${name} ${help}\n# TYPE ${name} gauge\n`;
  for (const s of samples) {
    const labels = Object.entries(s.labels)
      .map(([k, v]) => `${k}="${escapeLabel(v)}"`)
      .join(",");
    out += `${name}{${labels}} ${Number.isFinite(s.value) ? String(s.value) : "NaN"}\n`;
  }
  return out;
}

interface TenantGauges {
  tenant: string;
  snapshot: MonitoringSnapshot | null;
  /** Feature names exported for this tenant (top by importance). */
  features: string[];
  perHour: VariantTotalsByVariant;
}

/** Ingest counters and the monitoring gauges, rendered into the control plane's /metrics. */
export class MonitoringMetrics {
  readonly events = new Counter(
    "churn_ingest_events_total",
    "Events ingested from the edge (redeliveries excluded), by type",
    ["type"],
  );
  readonly records = new Counter(
    "churn_ingest_records_total",
    "Scored records (prediction), feedback items (feedback) and refused records (rejected) ingested",
    ["type"],
  );
  readonly duplicates = new Counter(
    "churn_ingest_duplicates_total",
    "Redelivered events recognised by their event id and not counted again",
    [],
  );
  readonly erasedItems = new Counter(
    "churn_ingest_erased_items_total",
    "Scored records (prediction) and feedback items (feedback) dropped at ingest: their customer was erased after they were queued",
    ["type"],
  );
  readonly batchDuration = new Histogram(
    "churn_ingest_batch_duration_seconds",
    "Time to store one delivered batch (one transaction)",
    [],
    BATCH_BUCKETS,
  );
  #gauges: { at: number; tenants: TenantGauges[]; otherPerHour: VariantTotalsByVariant } | null = null;
  #refreshing: Promise<void> | null = null;

  observeIngest(result: IngestResult, seconds: number): void {
    for (const type of ["prediction", "feedback", "rejected"] as const) {
      if (result.events[type] > 0) this.events.inc({ type }, result.events[type]);
      if (result.records[type] > 0) this.records.inc({ type }, result.records[type]);
    }
    this.duplicates.inc({}, result.duplicates);
    if (result.erased.predictions > 0)
      this.erasedItems.inc({ type: "prediction" }, result.erased.predictions);
    if (result.erased.feedback > 0) this.erasedItems.inc({ type: "feedback" }, result.erased.feedback);
    this.batchDuration.observe({}, seconds);
  }

  /** Recomputes the gauges now: the busiest tenants' snapshots and everyone's traffic of the last full hour. */
  async refresh(db: Db, now = Date.now()): Promise<void> {
    const lastHour = hourOf(now) - HOUR_MS;
    const busiest = await busiestDeployedTenants(db, hourOf(now) - 24 * HOUR_MS, MAX_TENANT_LABELS);
    const labelled = new Set(busiest.map((b) => b.tenantId));
    const traffic = await variantsOfHour(db, lastHour);
    const perHour = new Map<string, VariantTotalsByVariant>();
    const otherPerHour: VariantTotalsByVariant = {};
    for (const row of traffic) {
      const target = labelled.has(row.tenantId)
        ? (perHour.get(row.tenantId) ?? perHour.set(row.tenantId, {}).get(row.tenantId)!)
        : otherPerHour;
      const variants = JSON.parse(row.variants) as VariantTotalsByVariant;
      for (const variant of ["production", "canary"] as const) {
        const v = variants[variant];
        if (!v) continue;
        const t = variantTotals(target, variant);
        t.records += v.records;
        t.contacts += v.contacts;
      }
    }
    const tenants: TenantGauges[] = [];
    for (const { tenantId } of busiest) {
      const live = await liveVersion(db, tenantId);
      const snapshot = live ? await computeSnapshot(db, tenantId, { now }) : null;
      const importance = [...(live?.manifest.importance ?? [])].sort((a, b) => b.gain - a.gain);
      const names =
        importance.length > 0
          ? importance.map((i) => i.feature)
          : Object.keys(live?.manifest.reference?.features ?? {});
      tenants.push({
        tenant: tenantId,
        snapshot,
        features: names.slice(0, MAX_FEATURE_LABELS),
        perHour: perHour.get(tenantId) ?? {},
      });
    }
    this.#gauges = { at: now, tenants, otherPerHour };
  }

  /** The monitoring part of the exposition; gauges older than GAUGE_REFRESH_MS are refreshed first. */
  async render(db: Db, options: { tenantSeries: boolean }, now = Date.now()): Promise<string> {
    const counters = [
      this.events.render(),
      this.records.render(),
      this.duplicates.render(),
      this.erasedItems.render(),
      this.batchDuration.render(),
    ];
    // Tenant ids are customer identifiers: only an authenticated scrape sees the per-tenant gauges.
    if (!options.tenantSeries)
      return [
        ...counters,
        "# per-tenant monitoring series are served only to scrapes with METRICS_TOKEN\n",
      ].join("");
    if (!this.#gauges) await this.#refreshOnce(db, now);
    else if (now - this.#gauges.at >= GAUGE_REFRESH_MS) {
      // Serve the cached values now; the next scrape sees the refreshed ones.
      void this.#refreshOnce(db, now).catch(() => undefined);
    }
    return [...counters, this.#renderGauges()].join("");
  }

  #refreshOnce(db: Db, now: number): Promise<void> {
    this.#refreshing ??= this.refresh(db, now).finally(() => {
      this.#refreshing = null;
    });
    return this.#refreshing;
  }

  #renderGauges(): string {
    const tenants = this.#gauges?.tenants ?? [];
    const of = (pick: (s: MonitoringSnapshot) => number | null): Sample[] =>
      tenants.flatMap((t) => {
        const value = t.snapshot ? pick(t.snapshot) : null;
        return value === null ? [] : [{ labels: { tenant: t.tenant }, value }];
      });
    const featurePsi: Sample[] = tenants.flatMap((t) =>
      (t.snapshot?.drift.features ?? [])
        .filter((f) => f.psi !== null && t.features.includes(f.feature))
        .map((f) => ({ labels: { tenant: t.tenant, feature: f.feature }, value: f.psi! })),
    );
    const checks = [
      ["missing_jump", (s: MonitoringSnapshot) => s.quality.missingRateJump],
      ["out_of_range", (s: MonitoringSnapshot) => s.quality.outOfRangeRate],
      ["unseen_category", (s: MonitoringSnapshot) => s.quality.unseenCategoryRate],
      ["schema_violation", (s: MonitoringSnapshot) => s.quality.schemaViolationRate],
    ] as const;
    const quality: Sample[] = tenants.flatMap((t) =>
      checks.flatMap(([check, pick]) => {
        const value = t.snapshot ? pick(t.snapshot) : null;
        return value === null ? [] : [{ labels: { tenant: t.tenant, check }, value }];
      }),
    );
    const perHour: Sample[] = [
      ...tenants.map((t) => ({ tenant: t.tenant, variants: t.perHour })),
      ...(this.#gauges ? [{ tenant: "other", variants: this.#gauges.otherPerHour }] : []),
    ].flatMap(({ tenant, variants }) =>
      (["production", "canary"] as const)
        .filter(
          (variant) => variants[variant] !== undefined || (tenant !== "other" && variant === "production"),
        )
        .map((variant) => ({ labels: { tenant, variant }, value: variants[variant]?.records ?? 0 })),
    );
    return [
      renderGauges(
        "churn_drift_score",
        "Importance-weighted PSI of the live version over the drift window (absent while quiet)",
        of((s) => s.drift.score),
      ),
      renderGauges("churn_feature_psi", "PSI per feature, the 10 most important features", featurePsi),
      renderGauges(
        "churn_estimated_auc",
        "Label-free (CBPE) AUC estimate over the drift window",
        of((s) => s.performance.estimated.auc),
      ),
      renderGauges(
        "churn_realized_auc",
        "AUC of labeled predictions within the label window",
        of((s) => s.performance.realized.auc),
      ),
      renderGauges(
        "churn_training_auc",
        "Holdout AUC of the live version at training",
        of((s) => s.performance.trainingAuc),
      ),
      renderGauges("churn_data_quality_rate", "Data-quality rates over the drift window, by check", quality),
      renderGauges(
        "churn_predictions_per_hour",
        "Scored records in the last full hour, by variant; tenants beyond the top 100 summed as other",
        perHour,
      ),
    ].join("");
  }
}
