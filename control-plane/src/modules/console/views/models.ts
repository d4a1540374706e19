import { html } from "hono/html";
import type { Deployment, ModelVersion } from "#shared/registry.ts";
import type { ModelWithVersions } from "../../registry/registry.ts";
import { lineChart } from "../charts.ts";
import { csrfInput, emptyState, fmt, type Html, type PageOptions, pageHeader } from "../layout.ts";
import { reportPageHref } from "./model-report.ts";
import { gettingStarted } from "./overview.ts";

/** Holdout metrics shown first, in this order, when a version has them. */
const KEY_METRICS = [
  "roc_auc",
  "pr_auc",
  "log_loss",
  "brier",
  "ece",
  "accuracy",
  "f1",
  "precision",
  "recall",
];

const METRIC_LABEL: Record<string, string> = {
  roc_auc: "ROC-AUC",
  pr_auc: "PR-AUC",
  log_loss: "Log loss",
  brier: "Brier",
  ece: "ECE",
  accuracy: "Accuracy",
  f1: "F1",
  precision: "Precision",
  recall: "Recall",
};
/** Metrics where lower is better, for the compare view's arrows. */
const LOWER_IS_BETTER = new Set(["log_loss", "brier", "ece"]);

function roleOf(v: ModelVersion, d: Deployment | null): "production" | "canary" | "shadow" | null {
  if (!d) return null;
  if (d.production.versionId === v.id) return "production";
  if (d.canary?.versionId === v.id) return "canary";
  if (d.shadows.some((s) => s.versionId === v.id)) return "shadow";
  return null;
}

function badges(v: ModelVersion, d: Deployment | null): Html {
  const role = roleOf(v, d);
  if (role === "production") return html`<span class="badge badge-prod">Production</span>`;
  if (role === "canary") return html`<span class="badge badge-canary">Canary ${d!.canary!.weight} %</span>`;
  if (role === "shadow") return html`<span class="badge badge-shadow">Shadow</span>`;
  return html``;
}

function metricsOf(v: ModelVersion): [string, number][] {
  const holdout = v.manifest.metrics.holdout;
  const known = KEY_METRICS.filter((k) => holdout[k] !== undefined).map(
    (k) => [k, holdout[k]!] as [string, number],
  );
  return known.length > 0 ? known : Object.entries(holdout).slice(0, 6);
}

/** A confirmation dialog holding one action's form: reason required, the revision read pins the change. */
function actionDialog(
  csrfToken: string,
  o: {
    id: string;
    title: string;
    action: string;
    fields: Html;
    submit: string;
    danger?: boolean;
    text: Html | string;
  },
): Html {
  return html`<dialog id="${o.id}" class="dialog" aria-labelledby="${o.id}-title">
<form method="post" action="${o.action}" class="stack">
  ${csrfInput(csrfToken)}
  <h2 id="${o.id}-title">${o.title}</h2>
  <p class="muted">${o.text}</p>
  ${o.fields}
  <label for="${o.id}-reason">Reason <span class="muted">(recorded in the audit log)</span></label>
  <textarea id="${o.id}-reason" name="reason" required minlength="3" maxlength="500" rows="2"></textarea>
  <div class="dialog-actions">
    <button type="button" class="btn btn-ghost" data-close>Cancel</button>
    <button type="submit" class="btn ${o.danger ? "btn-danger" : "btn-primary"}">${o.submit}</button>
  </div>
</form>
</dialog>`;
}

const opener = (id: string, label: string, cls = "btn-secondary") =>
  html`<button type="button" class="btn btn-sm ${cls}" data-open="${id}" aria-haspopup="dialog">${label}</button>`;

function rowActions(csrfToken: string, v: ModelVersion, d: Deployment | null): Html {
  const role = roleOf(v, d);
  const hidden = (name: string, value: string | number) =>
    html`<input type="hidden" name="${name}" value="${value}">`;
  const base = html`${hidden("versionId", v.id)}${hidden("revision", d?.revision ?? 0)}`;
  const parts: Html[] = [];
  if (role !== "production") {
    parts.push(opener(`promote-${v.id}`, d ? "Promote" : "Deploy", "btn-primary"));
    parts.push(
      actionDialog(csrfToken, {
        id: `promote-${v.id}`,
        title: d ? `Promote v${v.version} to production` : `Deploy v${v.version}`,
        action: "/console/deployment/promote",
        fields: base,
        submit: d ? "Promote" : "Deploy",
        text: d
          ? `Every customer will be scored by v${v.version}${role === "canary" ? "; the canary ends" : ""}. You can roll back afterwards.`
          : `v${v.version} will serve every prediction for this tenant.`,
      }),
    );
  }
  if (d && role !== "production") {
    const weight = role === "canary" ? d.canary!.weight : 10;
    parts.push(opener(`canary-${v.id}`, role === "canary" ? "Set weight" : "Canary"));
    parts.push(
      actionDialog(csrfToken, {
        id: `canary-${v.id}`,
        title: `Canary v${v.version}`,
        action: "/console/deployment/canary",
        fields: html`${base}<label for="canary-${v.id}-weight">Share of customers (%)</label><input id="canary-${v.id}-weight" name="weight" type="number" min="1" max="100" step="1" value="${weight}" required>`,
        submit: "Set canary",
        text: "Customers are assigned by a hash of their id, so each keeps the same version while the weight holds.",
      }),
    );
    if (role === "canary") {
      parts.push(opener(`endcanary-${v.id}`, "End canary", "btn-ghost"));
      parts.push(
        actionDialog(csrfToken, {
          id: `endcanary-${v.id}`,
          title: `End the canary of v${v.version}`,
          action: "/console/deployment/canary/end",
          fields: base,
          submit: "End canary",
          danger: true,
          text: "All traffic returns to the production version.",
        }),
      );
    }
    if (role === "shadow") {
      parts.push(opener(`unshadow-${v.id}`, "Remove shadow", "btn-ghost"));
      parts.push(
        actionDialog(csrfToken, {
          id: `unshadow-${v.id}`,
          title: `Stop shadowing v${v.version}`,
          action: "/console/deployment/shadow/remove",
          fields: base,
          submit: "Remove shadow",
          danger: true,
          text: "The version stops scoring traffic in the background.",
        }),
      );
    } else if (role === null && d.shadows.length < 3) {
      parts.push(opener(`shadow-${v.id}`, "Shadow", "btn-ghost"));
      parts.push(
        actionDialog(csrfToken, {
          id: `shadow-${v.id}`,
          title: `Shadow v${v.version}`,
          action: "/console/deployment/shadow/add",
          fields: base,
          submit: "Add shadow",
          text: "It scores the same records after each response; its predictions are logged, never returned.",
        }),
      );
    }
  }
  return html`<div class="row-actions">${parts}</div>`;
}

function compareView(a: ModelVersion, b: ModelVersion): Html {
  const keys = [...new Set([...metricsOf(a), ...metricsOf(b)].map(([k]) => k))];
  const delta = (k: string) => {
    const x = a.manifest.metrics.holdout[k];
    const y = b.manifest.metrics.holdout[k];
    if (x === undefined || y === undefined) return html`<td class="muted">—</td>`;
    const diff = y - x;
    const better = LOWER_IS_BETTER.has(k) ? diff < 0 : diff > 0;
    const cls = Math.abs(diff) < 1e-9 ? "" : better ? "delta-good" : "delta-bad";
    return html`<td class="num ${cls}">${diff >= 0 ? "+" : "−"}${Math.abs(diff).toFixed(4)}</td>`;
  };
  const row = (label: string, f: (v: ModelVersion) => string | number) =>
    html`<tr><th scope="row">${label}</th><td>${f(a)}</td><td>${f(b)}</td><td></td></tr>`;
  const curves = [a, b].filter((v) => v.manifest.decision && v.manifest.decision.curve.length > 1);
  return html`<section class="card" aria-labelledby="compare-h" id="compare">
<h2 id="compare-h">Compare v${a.version} and v${b.version}</h2>
<div class="table-wrap" tabindex="0"><table class="table compare">
<thead><tr><th scope="col"></th><th scope="col">v${a.version}</th><th scope="col">v${b.version}</th><th scope="col">Change</th></tr></thead>
<tbody>
${keys.map(
  (k) =>
    html`<tr><th scope="row">${METRIC_LABEL[k] ?? k}</th><td class="num">${a.manifest.metrics.holdout[k]?.toFixed(4) ?? "—"}</td><td class="num">${b.manifest.metrics.holdout[k]?.toFixed(4) ?? "—"}</td>${delta(k)}</tr>`,
)}
${row("Family", (v) => v.manifest.family.replace("_", " "))}
${row("Threshold", (v) => v.manifest.threshold.toFixed(2))}
${row("Features", (v) => v.manifest.features.length)}
${row("Calibration", (v) => v.manifest.calibration?.method ?? "—")}
${row("Training rows", (v) => (v.manifest.lineage.rows ? fmt.int(v.manifest.lineage.rows.train) : "—"))}
${row("Data fingerprint", (v) => v.manifest.lineage.dataFingerprint.slice(0, 12))}
${row("Trainer", (v) => v.manifest.lineage.trainerVersion)}
${row("Size", (v) => `${fmt.int(v.bytes / 1024)} KiB`)}
</tbody></table></div>
${
  curves.length === 2
    ? lineChart({
        title: `Expected profit per scored customer by threshold, v${a.version} and v${b.version}`,
        width: 1000,
        xLabels: a.manifest.decision!.curve.map((p) => p.threshold.toFixed(2)),
        series: [
          {
            label: `v${a.version}`,
            tone: "s1",
            values: a.manifest.decision!.curve.map((p) => p.expectedProfit),
          },
          {
            label: `v${b.version}`,
            tone: "s2",
            values: b.manifest.decision!.curve.map((p) => p.expectedProfit),
          },
        ],
        format: (v) => fmt.money(v),
      })
    : ""
}
</section>`;
}

/** What the models page shows, gathered by its handler through the registry and deployments. */
export interface ModelsData {
  models: ModelWithVersions[];
  deployment: Deployment | null;
  canWrite: boolean;
  csrfToken: string;
  /** The model asked for (`?model=`), and two version ids to compare (`?a=&b=`). */
  selected: { model?: string | undefined; a?: string | undefined; b?: string | undefined };
  flash?: { kind: "ok" | "error"; text: string } | undefined;
}

/** The models page: the registry's versions with metrics, lineage and deployment actions. */
export function modelsView(view: ModelsData): PageOptions {
  const { deployment, canWrite, csrfToken, flash } = view;
  const all = view.models;
  if (all.length === 0) {
    return {
      title: "Models",
      active: "models",
      flash,
      body: html`${pageHeader("Models", "Versions in the registry, their metrics and lineage.")}${emptyState("No models published yet", "Publish a trained model to see its versions here:", gettingStarted)}`,
    };
  }
  const selectedName = view.selected.model;
  const model =
    all.find((m) => m.name === selectedName) ??
    all.find((m) => m.versions.some((v) => v.id === deployment?.production.versionId)) ??
    all[0]!;
  const a = model.versions.find((v) => v.id === view.selected.a);
  const b = model.versions.find((v) => v.id === view.selected.b);
  const rollback =
    canWrite && deployment
      ? html`<button type="button" class="btn btn-secondary" data-open="rollback" aria-haspopup="dialog">Roll back</button>
<dialog id="rollback" class="dialog" aria-labelledby="rollback-title">
<form method="post" action="/console/deployment/rollback" class="stack">
  ${csrfInput(csrfToken)}
  <input type="hidden" name="revision" value="${deployment.revision}">
  <h2 id="rollback-title">Roll back production</h2>
  <p class="muted">Production returns to the version that served before ${deployment.production.name} v${deployment.production.version}; the canary ends, shadows stay.</p>
  <label for="rollback-reason">Reason <span class="muted">(recorded in the audit log)</span></label>
  <textarea id="rollback-reason" name="reason" required minlength="3" maxlength="500" rows="2"></textarea>
  <div class="dialog-actions"><button type="button" class="btn btn-ghost" data-close>Cancel</button><button type="submit" class="btn btn-danger">Roll back</button></div>
</form>
</dialog>`
      : "";

  return {
    title: "Models",
    active: "models",
    flash,
    body: html`${pageHeader("Models", html`Versions of <strong>${model.name}</strong>, newest first. ${deployment ? html`Deployment revision ${deployment.revision}.` : "Nothing is deployed yet."}`, rollback)}
${
  all.length > 1
    ? html`<nav class="tabs" aria-label="Models">${all.map((m) => html`<a href="/console/models?model=${m.name}"${m.id === model.id ? html` aria-current="page"` : ""}>${m.name}</a>`)}</nav>`
    : ""
}
${!canWrite ? html`<p class="note" role="note">Your role can view versions but not change what is deployed.</p>` : ""}
<section class="card" aria-labelledby="versions-h">
<h2 id="versions-h" class="sr-only">Versions</h2>
<div class="table-wrap" tabindex="0"><table class="table versions stacked">
<thead><tr><th scope="col">Version</th><th scope="col">Status</th><th scope="col">Holdout metrics</th><th scope="col">Lineage</th><th scope="col">Published</th>${canWrite ? html`<th scope="col"><span class="sr-only">Actions</span></th>` : ""}</tr></thead>
<tbody>
${model.versions.map(
  (v) => html`<tr data-version="${v.version}">
  <th scope="row"><span class="version">v${v.version}</span><span class="muted small block">${v.manifest.family.replace("_", " ")}</span>${
    v.hasReport
      ? html`<a class="report-link small" href="${reportPageHref(model.name, v.version)}" aria-label="Report of v${v.version}">Report</a>`
      : html`<span class="muted small block" title="Published without the trainer's report.html">No report</span>`
  }</th>
  <td>${badges(v, deployment)}</td>
  <td><dl class="metrics">${metricsOf(v)
    .slice(0, 4)
    .map(([k, x]) => html`<div><dt>${METRIC_LABEL[k] ?? k}</dt><dd>${x.toFixed(3)}</dd></div>`)}</dl></td>
  <td class="small"><span title="Data fingerprint">data ${v.manifest.lineage.dataFingerprint.slice(0, 10)}</span><span class="block muted">trainer ${v.manifest.lineage.trainerVersion} · seed ${v.manifest.lineage.seed}${v.manifest.lineage.rows ? ` · ${fmt.int(v.manifest.lineage.rows.train)} rows` : ""}</span></td>
  <td class="small">${fmt.date(v.createdAt)}<span class="block muted">${v.publishedBy}</span></td>
  ${canWrite ? html`<td class="actions-cell">${rowActions(csrfToken, v, deployment)}</td>` : ""}
</tr>`,
)}
</tbody></table></div>
</section>
${
  model.versions.length > 1
    ? html`<section class="card" aria-labelledby="pick-h">
<h2 id="pick-h">Compare two versions</h2>
<form method="get" action="/console/models#compare" class="inline-form">
  <input type="hidden" name="model" value="${model.name}">
  <label for="cmp-a">Baseline</label>
  <select id="cmp-a" name="a">${model.versions.map((v, i) => html`<option value="${v.id}"${(a ? a.id === v.id : i === 1) ? " selected" : ""}>v${v.version}</option>`)}</select>
  <label for="cmp-b">Candidate</label>
  <select id="cmp-b" name="b">${model.versions.map((v, i) => html`<option value="${v.id}"${(b ? b.id === v.id : i === 0) ? " selected" : ""}>v${v.version}</option>`)}</select>
  <button class="btn btn-secondary" type="submit">Compare</button>
</form>
</section>`
    : ""
}
${a && b ? compareView(a, b) : ""}
${
  model.versions.some((v) => !v.hasReport)
    ? html`<p class="note">Versions marked “No report” were published without the trainer's <code>report.html</code>: their metrics above come from the manifest. Open that report from the training run's output folder; <code>churn publish</code> sends it with the next version it creates.</p>`
    : ""
}`,
  };
}
