import type { Context } from "hono";
import { html } from "hono/html";
import { DAY_MS, HOUR_MS } from "#shared/time.ts";
import { listDeploymentHistory } from "../../deployments/deployment-history.ts";
import { edgeStatus } from "../../deployments/edge-confirmation.ts";
import { isAllowed } from "../../identity/permissions.ts";
import { scoredSince, trafficByHour } from "../../monitoring/scored.ts";
import { modelsWithVersions } from "../../registry/registry.ts";
import { barChart, sparkline } from "../charts.ts";
import { deploymentOrNull } from "../data.ts";
import type { ConsoleEnv } from "../env.ts";
import { emptyState, fmt, type Html, page, pageHeader } from "../layout.ts";
import { snapshotOrNull } from "../monitoring.ts";

export const gettingStarted = html`<ol class="steps">
<li><strong>Train</strong> a model from a CSV: <code class="cmd">npx churn train --data customers.csv --target Churn --positive Yes --out model/</code></li>
<li><strong>Publish and deploy</strong> it with your token: <code class="cmd">npx churn publish model/ --deploy --reason "first model"</code></li>
<li><strong>Create an API client</strong> with the <code>predict</code> scope under API clients, and send records to the edge's <code>POST /v1/predict</code>.</li>
</ol>`;

export async function overviewPage(c: Context<ConsoleEnv>): Promise<Html> {
  const deps = c.get("deps");
  const principal = c.get("principal");
  const tenantId = principal.tenantId;
  const now = Date.now();
  const [deployment, modelList, traffic, week] = await Promise.all([
    deploymentOrNull(deps.db, tenantId),
    modelsWithVersions(deps.db, tenantId, 100),
    trafficByHour(deps.db, tenantId, now, 24),
    scoredSince(deps.db, tenantId, now - 7 * DAY_MS),
  ]);
  if (!deployment) {
    return page(c, {
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
    });
  }
  const [edge, history, snapshot] = await Promise.all([
    edgeStatus(deps.edge, tenantId, deployment.revision),
    listDeploymentHistory(deps.db, tenantId, { limit: 5 }),
    isAllowed(principal, "monitoring:read") ? snapshotOrNull(deps.db, tenantId, now) : null,
  ]);
  const user = c.get("consoleUser");
  // Who changed it: you, or the actor id (names of other people are for roles that may list users).
  const changedBy =
    deployment.updatedBy === `user:${user.id}` ? html`you` : html`<code>${deployment.updatedBy}</code>`;
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

  const driftCard = snapshot
    ? html`<div class="stat"><span class="stat-label">Drift score</span><span class="stat-value">${snapshot.drift.score === null ? "—" : fmt.num(snapshot.drift.score, 3)}</span><span class="badge badge-${snapshot.drift.status}">${snapshot.drift.status}</span><span class="stat-note">PSI, importance-weighted, last ${Math.ceil((Date.parse(snapshot.window.to) - Date.parse(snapshot.window.from)) / HOUR_MS)} h</span></div>`
    : html`<div class="stat"><span class="stat-label">Drift score</span><span class="stat-value muted">—</span><span class="stat-note">No monitoring data yet: drift appears once scored traffic has been summarised.</span></div>`;
  const est = snapshot?.performance.estimated.auc ?? null;
  const real = snapshot?.performance.realized.auc ?? null;
  const aucCard = html`<div class="stat"><span class="stat-label">ROC-AUC: estimated / realized</span><span class="stat-value">${est === null ? "—" : fmt.num(est, 3)} <span class="muted">/</span> ${real === null ? "—" : fmt.num(real, 3)}</span><span class="stat-note">${trainingAuc !== null ? `Training holdout ${fmt.num(trainingAuc, 3)}. ` : ""}${snapshot ? (snapshot.performance.realized.labeled > 0 ? `${fmt.int(snapshot.performance.realized.labeled)} labelled outcomes.` : "Realized AUC appears once feedback arrives.") : "No monitoring data yet."}</span></div>`;

  return page(c, {
    title: "Overview",
    active: "overview",
    body: html`${pageHeader("Overview", html`Revision ${deployment.revision}, changed ${fmt.date(deployment.updatedAt)} by ${changedBy}.`, html`<span class="badge ${edge.confirmed ? "badge-ok" : "badge-warn"}" title="Whether an edge isolate has served this revision">${edge.confirmed ? "Serving at the edge" : "Awaiting edge confirmation"}</span>`)}
<section class="stats stats-3x2" aria-label="Key figures">
  <div class="stat"><span class="stat-label">Live version</span><span class="stat-value" data-testid="live-version">${deployment.production.name} v${deployment.production.version}</span><span class="stat-note">${production ? `${production.manifest.family.replace("_", " ")}, threshold ${fmt.num(production.manifest.threshold, 2)}` : ""}</span></div>
  <div class="stat"><span class="stat-label">Canary</span><span class="stat-value" data-testid="canary">${deployment.canary ? html`v${deployment.canary.version} <span class="muted">at</span> ${deployment.canary.weight} %` : html`<span class="muted">None</span>`}</span><span class="stat-note">${deployment.canary ? "of customers, sticky per customer id" : "All traffic goes to the live version."}${deployment.shadows.length > 0 ? ` ${deployment.shadows.length} shadow${deployment.shadows.length > 1 ? "s" : ""}.` : ""}</span></div>
  <div class="stat"><span class="stat-label">Predictions, last 24 h</span><span class="stat-value">${fmt.int(total24h)}</span>${sparkline(
    traffic.map((h) => h.predictions),
    "Predictions per hour, last 24 hours",
  )}</div>
  ${driftCard}
  ${aucCard}
  <div class="stat"><span class="stat-label">Customers flagged this week</span><span class="stat-value">${fmt.int(week.flaggedCustomers)}</span><span class="stat-note">of ${fmt.int(week.predictions)} scored in 7 days, at or above the contact threshold</span></div>
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
  });
}
