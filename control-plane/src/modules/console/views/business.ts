import { html } from "hono/html";
import type { MonitoringSnapshot } from "#shared/monitoring.ts";
import type { Deployment } from "#shared/registry.ts";
import type { ScoredWindow } from "../../monitoring/scored.ts";
import type { ModelWithVersions } from "../../registry/registry.ts";
import { lineChart } from "../charts.ts";
import { emptyState, fmt, type PageOptions, pageHeader, statCard } from "../layout.ts";
import { gettingStarted } from "./overview.ts";

/** What the business view shows, gathered by its handler through the modules' services. */
export interface BusinessData {
  deployment: Deployment | null;
  models: ModelWithVersions[];
  week: ScoredWindow;
  /** The last week's monitoring snapshot, when the tenant has a deployment and summarised traffic. */
  snapshot: MonitoringSnapshot | null;
}

/** The business view: revenue at risk and what the retention campaign is expected to save. */
export function businessView(view: BusinessData): PageOptions {
  const { deployment, week, snapshot } = view;
  const all = view.models;
  const live =
    deployment && all.flatMap((m) => m.versions).find((v) => v.id === deployment.production.versionId);
  const decision = live?.manifest.decision;
  if (!deployment || !live || !decision || decision.curve.length < 2) {
    return {
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
    };
  }
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

  return {
    title: "Business",
    active: "business",
    body: html`${pageHeader("Business view", html`From ${live.name} v${live.version}'s profit curve and the last 7 days of scored customers.`)}
<section class="stats" aria-label="Business figures">
  ${statCard({
    label: "Revenue at risk, 7 days",
    value: fmt.money(revenueAtRisk),
    note: `Expected churners among ${fmt.int(week.predictions)} scored customers × ${fmt.money(valuePerCustomer)} each`,
  })}
  ${statCard({
    label: "Expected saved revenue",
    value: fmt.money(expectedSaved),
    note: `At threshold ${live.manifest.threshold.toFixed(2)}: offers accepted by ${fmt.pct(offerAcceptance, 0)} of churners, net of ${fmt.money(offerCost)} per offer`,
  })}
  ${statCard({
    label: "Customers flagged, 7 days",
    value: fmt.int(flagged),
    note: `Contact rate on the training holdout: ${fmt.pct(atThreshold.contactRate)}`,
  })}
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
  };
}
