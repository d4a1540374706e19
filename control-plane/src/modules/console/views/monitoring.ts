import { html } from "hono/html";
import type { MonitoringSnapshot, MonitoringTimeseries } from "#shared/monitoring.ts";
import type { Deployment } from "#shared/registry.ts";
import type { ModelWithVersions } from "../../registry/registry.ts";
import { barChart, lineChart } from "../charts.ts";
import { emptyState, fmt, type Html, type PageOptions, pageHeader, statCard } from "../layout.ts";
import { gettingStarted } from "./overview.ts";

const rate = (v: number | null) => (v === null ? "—" : fmt.pct(v, 2));

function qualityCards(s: MonitoringSnapshot): Html {
  const q = s.quality;
  const jumpNote = q.missingRateJumpFeature
    ? html`largest on <code>${q.missingRateJumpFeature}</code>, over its training rate`
    : "over the training rate";
  return html`<div class="stats stats-2 flush">
${statCard({ label: "Missing-rate jump", value: rate(q.missingRateJump), note: jumpNote })}
${statCard({ label: "Out of training range", value: rate(q.outOfRangeRate), note: "numeric values outside [min, max] seen in training" })}
${statCard({ label: "Unseen categories", value: rate(q.unseenCategoryRate), note: 'scored as "none of the known categories"' })}
${statCard({ label: "Schema violations", value: rate(q.schemaViolationRate), note: "records the edge refused" })}
</div>`;
}

/** What the monitoring page shows, gathered by its handler through the modules' services. */
export interface MonitoringData {
  deployment: Deployment | null;
  models: ModelWithVersions[];
  /** The last 24 hours' snapshot and the last 7 days by day (null: no summarised traffic). */
  current: MonitoringSnapshot | null;
  series: MonitoringTimeseries | null;
  /** The live version's scores of the last day on its reference's bins (null: no reference). */
  liveScores: number[] | null;
}

/** The monitoring page: drift, data quality and the live version's score distribution. */
export function monitoringView(view: MonitoringData): PageOptions {
  const { deployment, current, series, liveScores } = view;
  const all = view.models;
  const head = pageHeader(
    "Monitoring",
    "Drift, data quality and the score distribution of the live version.",
  );
  if (!deployment) {
    return {
      title: "Monitoring",
      active: "monitoring",
      body: html`${head}${emptyState("Nothing to monitor yet", "Deploy a model and send traffic to the edge:", gettingStarted)}`,
    };
  }
  const live = all.flatMap((m) => m.versions).find((v) => v.id === deployment.production.versionId);

  const reference = live?.manifest.reference?.score;
  const liveTotal = liveScores?.reduce((a, b) => a + b, 0) ?? 0;
  const refTotal = reference?.counts.reduce((a, b) => a + b, 0) ?? 0;
  const binLabel = (i: number, edges: number[]) => `${i === 0 ? "0" : edges[i - 1]!.toFixed(2)}`;

  const scoreSection = html`<section class="card" aria-labelledby="score-h">
<h2 id="score-h">Score distribution vs training reference</h2>
${
  !reference
    ? emptyState(
        "No reference distribution",
        "This version's manifest has no drift reference; models trained with churn train include one.",
      )
    : liveTotal === 0
      ? emptyState(
          "No scores in the last 24 hours",
          "Once the edge scores customers, their probabilities are compared here with the training rows'.",
        )
      : barChart({
          title: "Share of customers per probability bin: last 24 hours vs training",
          labels: reference.counts.map((_, i) => binLabel(i, reference.edges)),
          series: [
            { label: "Last 24 h", tone: "s1", values: liveScores!.map((n) => n / liveTotal) },
            {
              label: "Training reference",
              tone: "s3",
              values: reference.counts.map((n) => n / (refTotal || 1)),
            },
          ],
          grouped: true,
          format: (v) => fmt.pct(v, 0),
        })
}
</section>`;

  if (!current) {
    return {
      title: "Monitoring",
      active: "monitoring",
      body: html`${head}
${emptyState(
  "No monitoring data yet",
  html`Drift, data-quality rates and estimated performance appear once the control plane has summarised scored traffic for ${deployment.production.name} v${deployment.production.version}. Send predictions through the edge; each delivered batch is summarised within minutes.`,
)}
${scoreSection}`,
    };
  }

  const features = [...current.drift.features].sort((a, b) => (b.psi ?? -1) - (a.psi ?? -1));
  const top = features.slice(0, 5).map((f) => f.feature);
  const points = series?.points ?? [];
  const trend = lineChart({
    title: "Drift (PSI) per day: tenant score and the five most drifted features",
    width: 1000,
    xLabels: points.map((p) => p.at.slice(5, 10)),
    series: [
      { label: "Drift score", tone: "s1", values: points.map((p) => p.driftScore) },
      ...top.map((name, i) => ({
        label: name,
        tone: `s${i + 2}`,
        values: points.map((p) => p.featurePsi[name] ?? null),
      })),
    ],
    format: (v) => v.toFixed(2),
    rules: [
      { value: 0.1, label: "warn 0.10", tone: "warn" },
      { value: 0.25, label: "alert 0.25", tone: "bad" },
    ],
  });

  return {
    title: "Monitoring",
    active: "monitoring",
    body: html`${head}
<section class="stats" aria-label="Monitoring summary">
${statCard({
  label: "Drift score",
  value: current.drift.score === null ? "—" : current.drift.score.toFixed(3),
  after: html`<span class="badge badge-${current.drift.status}">${current.drift.status}</span>`,
})}
${statCard({
  label: "Records, last 24 h",
  value: fmt.int(current.records),
  note:
    current.drift.status === "quiet"
      ? "Too few for drift to be meaningful yet"
      : `v${current.version ?? "?"}`,
})}
${statCard({
  label: "Estimated ROC-AUC",
  value: current.performance.estimated.auc?.toFixed(3) ?? "—",
  note: `from calibrated probabilities; training ${current.performance.trainingAuc?.toFixed(3) ?? "—"}`,
})}
${statCard({
  label: "Realized ROC-AUC",
  value: current.performance.realized.auc?.toFixed(3) ?? "—",
  note: `${fmt.int(current.performance.realized.labeled)} labelled outcomes`,
})}
</section>
<section class="card" aria-labelledby="trend-h"><h2 id="trend-h">Drift over time</h2>${trend}</section>
<div class="grid-2">
<section class="card" aria-labelledby="features-h">
<h2 id="features-h">Drift per feature, last 24 hours</h2>
<div class="table-wrap" tabindex="0"><table class="table">
<thead><tr><th scope="col">Feature</th><th scope="col">PSI</th><th scope="col">JS distance</th><th scope="col">KS</th><th scope="col">Status</th></tr></thead>
<tbody>${features.map(
      (f) =>
        html`<tr><th scope="row"><code>${f.feature}</code></th><td class="num">${f.psi?.toFixed(3) ?? "—"}</td><td class="num">${f.jsDistance?.toFixed(3) ?? "—"}</td><td class="num">${f.ks?.toFixed(3) ?? "—"}</td><td><span class="badge badge-${f.status}">${f.status}</span></td></tr>`,
    )}</tbody></table></div>
</section>
<div>
${scoreSection}
<section class="card" aria-labelledby="quality-h"><h2 id="quality-h">Data quality, last 24 hours</h2>${qualityCards(current)}</section>
</div>
</div>`,
  };
}
