import type { Context } from "hono";
import { html } from "hono/html";
import { DAY_MS } from "#shared/time.ts";
import { scoredSince } from "../../monitoring/scored.ts";
import { modelsWithVersions } from "../../registry/registry.ts";
import { lineChart } from "../charts.ts";
import { deploymentOrNull } from "../data.ts";
import type { ConsoleEnv } from "../env.ts";
import { emptyState, fmt, type Html, page, pageHeader } from "../layout.ts";
import { snapshotOrNull } from "../monitoring.ts";
import { gettingStarted } from "./overview.ts";

export async function businessPage(c: Context<ConsoleEnv>): Promise<Html> {
  const deps = c.get("deps");
  const tenantId = c.get("principal").tenantId;
  const now = Date.now();
  const [deployment, all, week] = await Promise.all([
    deploymentOrNull(deps.db, tenantId),
    modelsWithVersions(deps.db, tenantId, 100),
    scoredSince(deps.db, tenantId, now - 7 * DAY_MS),
  ]);
  const live =
    deployment && all.flatMap((m) => m.versions).find((v) => v.id === deployment.production.versionId);
  const decision = live?.manifest.decision;
  if (!deployment || !live || !decision || decision.curve.length < 2) {
    return page(c, {
      title: "Business",
      active: "business",
      body: html`${pageHeader("Business view", "Revenue at risk and what the retention campaign is expected to save.")}${
        !deployment
          ? emptyState(
              "Nothing deployed yet",
              "The business view reads the live model's profit curve. Deploy a model first:",
              gettingStarted,
            )
          : emptyState(
              "The live model has no profit curve",
              html`Models trained with <code>churn train</code> store the expected-profit curve in their manifest (<code>decision.curve</code>). Retrain with <code>--value-per-customer</code>, <code>--offer-cost</code> and <code>--offer-acceptance</code> to see it here.`,
            )
      }`,
    });
  }
  const snapshot = await snapshotOrNull(deps.db, tenantId, now, 24 * 7);
  const { valuePerCustomer, offerCost, offerAcceptance, curve } = decision;
  const revenueAtRisk = snapshot?.business.revenueAtRisk ?? week.expectedChurners * valuePerCustomer;
  const expectedSaved =
    snapshot?.business.expectedSavedRevenue ??
    week.expectedChurnersFlagged * offerAcceptance * valuePerCustomer - week.contacts * offerCost;
  const flagged = snapshot?.business.flagged ?? week.flaggedCustomers;
  const thresholdIndex = curve.reduce(
    (best, p, i) =>
      Math.abs(p.threshold - live.manifest.threshold) <
      Math.abs(curve[best]!.threshold - live.manifest.threshold)
        ? i
        : best,
    0,
  );
  const atThreshold = curve[thresholdIndex]!;
  const perWeek = week.predictions;

  return page(c, {
    title: "Business",
    active: "business",
    body: html`${pageHeader("Business view", html`From ${live.name} v${live.version}'s profit curve and the last 7 days of scored customers.`)}
<section class="stats" aria-label="Business figures">
  <div class="stat"><span class="stat-label">Revenue at risk, 7 days</span><span class="stat-value">${fmt.money(revenueAtRisk)}</span><span class="stat-note">Expected churners among ${fmt.int(week.predictions)} scored customers × ${fmt.money(valuePerCustomer)} each</span></div>
  <div class="stat"><span class="stat-label">Expected saved revenue</span><span class="stat-value">${fmt.money(expectedSaved)}</span><span class="stat-note">At threshold ${live.manifest.threshold.toFixed(2)}: offers accepted by ${fmt.pct(offerAcceptance, 0)} of churners, net of ${fmt.money(offerCost)} per offer</span></div>
  <div class="stat"><span class="stat-label">Customers flagged, 7 days</span><span class="stat-value">${fmt.int(flagged)}</span><span class="stat-note">Contact rate on the training holdout: ${fmt.pct(atThreshold.contactRate)}</span></div>
</section>
${week.predictions === 0 ? html`<p class="note" role="note">No customers scored in the last 7 days yet: the figures above fill in as the edge scores traffic. The what-if below works from the model's holdout data.</p>` : ""}
<section class="card" aria-labelledby="whatif-h" id="what-if" data-curve="${JSON.stringify(curve)}" data-value="${valuePerCustomer}" data-cost="${offerCost}" data-acceptance="${offerAcceptance}" data-per-week="${perWeek}" data-threshold="${live.manifest.threshold}">
<h2 id="whatif-h">What if: contact threshold</h2>
<p class="muted">Move the threshold, or change the campaign's economics, to see the expected profit per scored customer. Nothing changes in production.</p>
<div class="whatif">
<div class="whatif-controls">
  <div class="field"><label for="wi-threshold">Threshold <output id="wi-threshold-out" for="wi-threshold">${live.manifest.threshold.toFixed(2)}</output></label>
    <input id="wi-threshold" type="range" min="0" max="1" step="0.01" value="${atThreshold.threshold.toFixed(2)}"></div>
  <div class="field"><label for="wi-value">Value of a kept customer ($)</label><input id="wi-value" type="number" min="0" step="any" value="${valuePerCustomer}"></div>
  <div class="field"><label for="wi-cost">Offer cost ($)</label><input id="wi-cost" type="number" min="0" step="any" value="${offerCost}"></div>
  <div class="field"><label for="wi-acceptance">Offer acceptance (0–1)</label><input id="wi-acceptance" type="number" min="0" max="1" step="0.01" value="${offerAcceptance}"></div>
  <dl class="readout" aria-live="polite">
    <div><dt>Contact rate</dt><dd id="wi-contact">${fmt.pct(atThreshold.contactRate)}</dd></div>
    <div><dt>Profit per scored customer</dt><dd id="wi-profit">${fmt.money(atThreshold.expectedProfit)}</dd></div>
    <div><dt>Profit per week at current traffic</dt><dd id="wi-week">${fmt.money(atThreshold.expectedProfit * perWeek)}</dd></div>
    <div><dt>Best threshold</dt><dd id="wi-best">—</dd></div>
  </dl>
</div>
${lineChart({
  id: "profit-chart",
  width: 760,
  title: "Expected profit per scored customer by contact threshold",
  xLabels: curve.map((p) => p.threshold.toFixed(2)),
  series: [{ label: "Expected profit", tone: "s1", values: curve.map((p) => p.expectedProfit) }],
  format: (v) => fmt.money(v),
  marker: { index: thresholdIndex, label: `threshold ${atThreshold.threshold.toFixed(2)}` },
})}
</div>
</section>`,
  });
}
