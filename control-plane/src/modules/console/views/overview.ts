import { html } from "hono/html";
import type { DeploymentHistoryEntry } from "#shared/deployment-history.ts";
import type { MonitoringSnapshot } from "#shared/monitoring.ts";
import type { Deployment } from "#shared/registry.ts";
import { HOUR_MS } from "#shared/time.ts";
import type { ScoredWindow, TrafficHour } from "../../monitoring/scored.ts";
import type { ModelWithVersions } from "../../registry/registry.ts";
import { barChart, sparkline } from "../charts.ts";
import { emptyState, fmt, type PageOptions, pageHeader, statCard } from "../layout.ts";

/** What the overview shows, gathered by its handler through the modules' services. */
export interface OverviewData {
  userId: string;
  deployment: Deployment | null;
  models: ModelWithVersions[];
  traffic: TrafficHour[];
  week: ScoredWindow;
  /** With a deployment: whether the edge serves it, its recent revisions, and monitoring if allowed. */
  live: {
    edge: { confirmed: boolean };
    history: { entries: DeploymentHistoryEntry[] };
    snapshot: MonitoringSnapshot | null;
  } | null;
}

export const gettingStarted = html`<ol class="steps">
<li><strong>Train</strong> a model from a CSV: <code class="cmd">npx churn train --data customers.csv --target Churn --positive Yes --out model/</code></li>
<li><strong>Publish and deploy</strong> it with your token: <code class="cmd">npx churn publish model/ --deploy --reason "first model"</code></li>
<li><strong>Create an API client</strong> with the <code>predict</code> scope under API clients, and send records to the edge's <code>POST /v1/predict</code>.</li>
</ol>`;

/** The overview: what serves the tenant's customers, and how it is doing. */
export function overviewView(view: OverviewData): PageOptions {
  const { deployment, traffic, week } = view;
  const modelList = view.models;
  if (!deployment) {
    return {
      title: "Overview",
      active: "overview",
      body: html`${pageHeader("Overview", "What serves your customers, and how it is doing.")}
${emptyState(
  modelList.length === 0 ? "No model yet" : "Nothing deployed yet",
  modelList.length === 0
    ? "This tenant has no model. Three steps get predictions flowing:"
    : "Models are published but none serves traffic. Deploy one from the Models page, or with the CLI.",
  modelList.length === 0
    ? gettingStarted
    : html`<a class="btn btn-primary" href="/console/models">Go to models</a>`,
)}`,
    };
  }
  const { edge, history, snapshot } = view.live!;
  // Who changed it: you, or the actor id (names of other people are for roles that may list users).
  const changedBy =
    deployment.updatedBy === `user:${view.userId}` ? html`you` : html`<code>${deployment.updatedBy}</code>`;
  const versions = modelList.flatMap((m) => m.versions);
  const production = versions.find((v) => v.id === deployment.production.versionId);
  const trainingAuc = production?.manifest.metrics.holdout["roc_auc"] ?? null;
  const total24h = traffic.reduce((s, h) => s + h.predictions, 0);
  const hourLabel = (ms: number) => new Date(ms).toISOString().slice(11, 13);

  const liveByModel = modelList.map((m) => {
    const prod = m.versions.find((v) => v.id === deployment.production.versionId);
    const canary = deployment.canary && m.versions.find((v) => v.id === deployment.canary!.versionId);
    return { name: m.name, latest: m.versions[0], prod, canary };
  });

  const windowHours = (s: MonitoringSnapshot) =>
    Math.ceil((Date.parse(s.window.to) - Date.parse(s.window.from)) / HOUR_MS);
  const driftCard = snapshot
    ? statCard({
        label: "Drift score",
        value: snapshot.drift.score === null ? "—" : fmt.num(snapshot.drift.score, 3),
        after: html`<span class="badge badge-${snapshot.drift.status}">${snapshot.drift.status}</span>`,
        note: `PSI, importance-weighted, last ${windowHours(snapshot)} h`,
      })
    : statCard({
        label: "Drift score",
        value: "—",
        muted: true,
        note: "No monitoring data yet: drift appears once scored traffic has been summarised.",
      });
  const est = snapshot?.performance.estimated.auc ?? null;
  const real = snapshot?.performance.realized.auc ?? null;
  const labeled = snapshot?.performance.realized.labeled ?? 0;
  const aucNote = !snapshot
    ? "No monitoring data yet."
    : labeled > 0
      ? `${fmt.int(labeled)} labelled outcomes.`
      : "Realized AUC appears once feedback arrives.";
  const aucCard = statCard({
    label: "ROC-AUC: estimated / realized",
    value: html`${est === null ? "—" : fmt.num(est, 3)} <span class="muted">/</span> ${real === null ? "—" : fmt.num(real, 3)}`,
    note: `${trainingAuc !== null ? `Training holdout ${fmt.num(trainingAuc, 3)}. ` : ""}${aucNote}`,
  });
  const canary = deployment.canary;
  const shadows = deployment.shadows.length;
  const edgeBadge = html`<span class="badge ${edge.confirmed ? "badge-ok" : "badge-warn"}" title="Whether an edge isolate has served this revision">${edge.confirmed ? "Serving at the edge" : "Awaiting edge confirmation"}</span>`;

  return {
    title: "Overview",
    active: "overview",
    body: html`${pageHeader(
      "Overview",
      html`Revision ${deployment.revision}, changed ${fmt.date(deployment.updatedAt)} by ${changedBy}.`,
      edgeBadge,
    )}
<section class="stats stats-3x2" aria-label="Key figures">
  ${statCard({
    label: "Live version",
    value: `${deployment.production.name} v${deployment.production.version}`,
    testId: "live-version",
    note: production
      ? `${production.manifest.family.replace("_", " ")}, threshold ${fmt.num(production.manifest.threshold, 2)}`
      : "",
  })}
  ${statCard({
    label: "Canary",
    value: canary
      ? html`v${canary.version} <span class="muted">at</span> ${canary.weight} %`
      : html`<span class="muted">None</span>`,
    testId: "canary",
    note: `${canary ? "of customers, sticky per customer id" : "All traffic goes to the live version."}${shadows > 0 ? ` ${shadows} shadow${shadows > 1 ? "s" : ""}.` : ""}`,
  })}
  ${statCard({
    label: "Predictions, last 24 h",
    value: fmt.int(total24h),
    after: sparkline(
      traffic.map((h) => h.predictions),
      "Predictions per hour, last 24 hours",
    ),
  })}
  ${driftCard}
  ${aucCard}
  ${statCard({
    label: "Customers flagged this week",
    value: fmt.int(week.flaggedCustomers),
    note: `of ${fmt.int(week.predictions)} scored in 7 days, at or above the contact threshold`,
  })}
</section>
<div class="grid-2">
<section class="card" aria-labelledby="traffic-h">
  <h2 id="traffic-h">Traffic per hour</h2>
  ${
    total24h === 0
      ? emptyState(
          "No predictions in the last 24 hours",
          html`Send records to the edge with a <code>predict</code> client; each prediction shows here within a minute of being delivered.`,
        )
      : barChart({
          title: "Predictions and contacts per hour, last 24 hours (UTC)",
          labels: traffic.map((h) => `${hourLabel(h.hour)}h`),
          series: [
            { label: "Predictions", tone: "s1", values: traffic.map((h) => h.predictions) },
            { label: "Flagged for contact", tone: "s2", values: traffic.map((h) => h.contacts) },
          ],
          grouped: true,
          format: (v) => fmt.int(v),
        })
  }
</section>
<section class="card" aria-labelledby="models-h">
  <h2 id="models-h">Live version per model</h2>
  <table class="table">
    <thead><tr><th scope="col">Model</th><th scope="col">Live</th><th scope="col">Canary</th><th scope="col">Latest</th></tr></thead>
    <tbody>
    ${liveByModel.map(
      (m) => html`<tr>
      <th scope="row"><a href="/console/models?model=${m.name}">${m.name}</a></th>
      <td>${m.prod ? html`<span class="badge badge-prod">v${m.prod.version}</span>` : html`<span class="muted">not deployed</span>`}</td>
      <td>${m.canary ? html`<span class="badge badge-canary">v${m.canary.version} · ${deployment.canary!.weight} %</span>` : html`<span class="muted">—</span>`}</td>
      <td>${m.latest ? html`v${m.latest.version}` : "—"}</td>
    </tr>`,
    )}
    </tbody>
  </table>
  <h3>Recent changes</h3>
  <ol class="timeline">
  ${history.entries.map(
    (e) =>
      html`<li><span class="timeline-when">${fmt.date(e.validFrom)}</span> <span>Revision ${e.revision}: ${e.production.name} v${e.production.version}${e.canary ? `, canary v${e.canary.version} at ${e.canary.weight} %` : ""}</span>${e.reason ? html`<span class="timeline-reason">“${e.reason}”</span>` : ""}</li>`,
  )}
  </ol>
</section>
</div>`,
  };
}
