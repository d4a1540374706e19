import { html } from "hono/html";
import type { Usage } from "#shared/usage.ts";
import { csrfInput, emptyState, fmt, type Html, type PageOptions, pageHeader, statCard } from "../layout.ts";

/** What the usage page shows, gathered by its handler through the usage module. */
export interface UsageData {
  usage: Usage;
  /** The month as it is now (UTC): the only one whose quota still applies. */
  currentMonth: string;
  /** Owners and admins set the tenant's quota here. */
  canSetQuota: boolean;
  csrfToken: string;
  flash?: { kind: "ok" | "error"; text: string } | undefined;
}

const ofLimit = (used: number, limit: number | null): Html =>
  limit === null
    ? html`<span class="muted">no quota</span>`
    : html`<meter min="0" max="${limit}" value="${Math.min(used, limit)}" high="${limit * 0.8}" optimum="0" aria-label="${fmt.int(used)} of ${fmt.int(limit)}"></meter> ${limit === 0 ? "—" : fmt.pct(used / limit)}`;

/** Predictions of a month against the tenant's monthly quota and the clients' own. */
export function usageView(data: UsageData): PageOptions {
  const { usage } = data;
  const current = usage.month === data.currentMonth;
  const tenantNote =
    usage.tenant.limit === null
      ? "No monthly quota: predictions are counted, never refused."
      : `of ${fmt.int(usage.tenant.limit)} this month; ${current ? "resets" : "reset"} ${fmt.date(usage.resetsAt)}`;
  const quotaForm = data.canSetQuota
    ? html`<section class="card" aria-labelledby="quota-h">
<h2 id="quota-h">Tenant-wide monthly quota</h2>
<form method="post" action="/console/usage/quota" class="stack">
  ${csrfInput(data.csrfToken)}
  <div class="field"><label for="quota-value">Predictions per calendar month (UTC)</label><input id="quota-value" name="monthlyPredictionQuota" type="number" min="0" max="1000000000000" step="1" value="${usage.tenant.limit ?? ""}" placeholder="empty: no quota"></div>
  <p class="muted small">Every scored record counts. Beyond the quota the edge answers 429 until the month ends. A client's own quota is set on the API clients page.</p>
  <div><button class="btn btn-primary" type="submit">Save quota</button></div>
</form>
</section>`
    : "";
  const row = (c: Usage["clients"][number]) =>
    html`<tr data-client="${c.id}">
<th scope="row">${c.name ?? html`<span class="muted">unknown client</span>`}${c.revoked ? html` <span class="badge badge-revoked">Revoked</span>` : ""}<code class="block small muted">${c.id}</code></th>
<td class="num">${fmt.int(c.used)}</td>
<td class="num">${c.limit === null ? html`<span class="muted">tenant's</span>` : fmt.int(c.limit)}</td>
<td>${ofLimit(c.used, c.limit)}</td>
</tr>`;
  const clients =
    usage.clients.length === 0
      ? emptyState("No predictions this month", "Clients appear here once they score records at the edge.")
      : html`<div class="table-wrap" tabindex="0"><table class="table stacked"><caption class="sr-only">Predictions by API client</caption>
<thead><tr><th scope="col">Client</th><th scope="col">Predictions</th><th scope="col">Own quota</th><th scope="col">Of its quota</th></tr></thead>
<tbody>${usage.clients.map(row)}</tbody></table></div>`;
  return {
    title: "Usage",
    active: "usage",
    flash: data.flash,
    body: html`${pageHeader("Usage", "Predictions scored at the edge in a calendar month (UTC), against the monthly quotas. The edge writes its counts every few seconds.")}
<form method="get" action="/console/usage" class="inline-fields">
  <div class="field"><label for="usage-month">Month</label><input id="usage-month" name="month" type="month" value="${usage.month}"></div>
  <div><button class="btn btn-secondary" type="submit">Show</button></div>
</form>
<section class="card" aria-labelledby="tenant-usage-h">
<h2 id="tenant-usage-h">Tenant-wide, ${usage.month}</h2>
<div class="stats">${statCard({ label: "Predictions", value: fmt.int(usage.tenant.used), note: tenantNote, testId: "tenant-used", after: usage.tenant.limit === null ? "" : ofLimit(usage.tenant.used, usage.tenant.limit) })}</div>
<p class="muted small">${usage.updatedAt ? `Counted by the edge at ${fmt.date(usage.updatedAt)}.` : "Nothing counted for this month."}</p>
</section>
<section class="card" aria-labelledby="clients-usage-h">
<h2 id="clients-usage-h">By API client</h2>
${clients}
</section>
${quotaForm}`,
  };
}
