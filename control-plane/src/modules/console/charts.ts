import { html } from "hono/html";
import type { Html } from "./layout.ts";

/**
 * Charts rendered on the server as SVG: they work without scripts, print, and need no chart library. Only
 * presentation attributes and classes are used (the console's CSP forbids inline styles). Each chart is an
 * image with a text alternative; the numbers behind it are also in a table for screen readers.
 */

/** Default drawing size; callers pass the width they are shown at, so text keeps its size. */
const DEFAULT_WIDTH = 640;
const H = 220;
const PAD = { top: 12, right: 12, bottom: 28, left: 48 };

const r = (n: number) => Math.round(n * 10) / 10;

function niceMax(value: number): number {
  if (value <= 0) return 1;
  const exp = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 2.5, 5, 10]) if (value <= step * exp) return step * exp;
  return 10 * exp;
}

function yAxis(W: number, min: number, max: number, format: (v: number) => string): Html {
  const ticks = 5;
  const lines = [];
  for (let i = 0; i <= ticks; i++) {
    const v = min + ((max - min) * i) / ticks;
    const y = PAD.top + (H - PAD.top - PAD.bottom) * (1 - i / ticks);
    lines.push(
      html`<line class="grid" x1="${PAD.left}" x2="${W - PAD.right}" y1="${r(y)}" y2="${r(y)}"/><text class="tick" x="${PAD.left - 6}" y="${r(y + 4)}" text-anchor="end">${format(v)}</text>`,
    );
  }
  return html`${lines}`;
}

export interface Series {
  label: string;
  /** CSS class giving the colour: s1…s6. */
  tone: string;
  values: (number | null)[];
}

export interface LineChartOptions {
  title: string;
  xLabels: string[];
  series: Series[];
  format: (v: number) => string;
  /** Fixed y range; by default from 0 (or the data's minimum when negative) to a round maximum. */
  yMin?: number;
  yMax?: number;
  /** Horizontal reference lines, e.g. a drift threshold. */
  rules?: { value: number; label: string; tone: string }[];
  /** A vertical marker at this x index (e.g. the current threshold). */
  marker?: { index: number; label: string } | undefined;
  id?: string;
  /** The width the chart is shown at, in CSS pixels (text is drawn at 11px of it). */
  width?: number;
}

export function lineChart(o: LineChartOptions): Html {
  const W = o.width ?? DEFAULT_WIDTH;
  const all = o.series.flatMap((s) => s.values.filter((v): v is number => v !== null && Number.isFinite(v)));
  const rules = o.rules ?? [];
  const dataMax = Math.max(...all, ...rules.map((x) => x.value), 0);
  const dataMin = Math.min(...all, 0);
  const yMin = o.yMin ?? (dataMin < 0 ? -niceMax(-dataMin) : 0);
  const yMax = o.yMax ?? niceMax(dataMax);
  const n = Math.max(1, o.xLabels.length - 1);
  const x = (i: number) => PAD.left + ((W - PAD.left - PAD.right) * i) / n;
  const y = (v: number) => PAD.top + (H - PAD.top - PAD.bottom) * (1 - (v - yMin) / (yMax - yMin || 1));
  const paths = o.series.map((s) => {
    let d = "";
    let pen = false;
    s.values.forEach((v, i) => {
      if (v === null || !Number.isFinite(v)) {
        pen = false;
        return;
      }
      d += `${pen ? "L" : "M"}${r(x(i))},${r(y(v))}`;
      pen = true;
    });
    const single = s.values.filter((v) => v !== null).length === 1;
    const dots = single
      ? s.values.map((v, i) =>
          v === null ? "" : html`<circle class="dot ${s.tone}" cx="${r(x(i))}" cy="${r(y(v))}" r="3"/>`,
        )
      : "";
    return html`<path class="line ${s.tone}" d="${d}"/>${dots}`;
  });
  const every = Math.max(1, Math.ceil(o.xLabels.length / 8));
  const xTicks = o.xLabels.map((label, i) =>
    i % every === 0 || i === o.xLabels.length - 1
      ? html`<text class="tick" x="${r(x(i))}" y="${H - 8}" text-anchor="middle">${label}</text>`
      : "",
  );
  const ruleLines = rules.map(
    (rule) =>
      html`<line class="rule ${rule.tone}" x1="${PAD.left}" x2="${W - PAD.right}" y1="${r(y(rule.value))}" y2="${r(y(rule.value))}"/><text class="rule-label ${rule.tone}" x="${W - PAD.right - 4}" y="${r(y(rule.value) - 4)}" text-anchor="end">${rule.label}</text>`,
  );
  const marker = o.marker
    ? html`<g class="marker" data-marker><line x1="${r(x(o.marker.index))}" x2="${r(x(o.marker.index))}" y1="${PAD.top}" y2="${H - PAD.bottom}"/><text x="${r(x(o.marker.index) + 4)}" y="${PAD.top + 12}">${o.marker.label}</text></g>`
    : "";
  return html`<figure class="chart">
<svg viewBox="0 0 ${W} ${H}" role="img" aria-label="${o.title}"${o.id ? html` id="${o.id}"` : ""} data-ymin="${yMin}" data-ymax="${yMax}" data-n="${n}" data-w="${W}" data-h="${H}" data-pad="${PAD.left},${PAD.right},${PAD.top},${PAD.bottom}">
<title>${o.title}</title>
${yAxis(W, yMin, yMax, o.format)}
${ruleLines}
${paths}
${marker}
${xTicks}
</svg>
${o.series.length > 1 ? legend(o.series) : ""}
</figure>`;
}

export function legend(series: { label: string; tone: string }[]): Html {
  return html`<ul class="legend">${series.map((s) => html`<li><span class="swatch ${s.tone}"></span>${s.label}</li>`)}</ul>`;
}

export interface BarChartOptions {
  title: string;
  labels: string[];
  series: Series[];
  format: (v: number) => string;
  /** Draw the series side by side (grouped) rather than only the first. */
  grouped?: boolean;
  width?: number;
}

export function barChart(o: BarChartOptions): Html {
  const W = o.width ?? DEFAULT_WIDTH;
  const all = o.series.flatMap((s) => s.values.filter((v): v is number => v !== null));
  const yMax = niceMax(Math.max(...all, 0));
  const slots = Math.max(1, o.labels.length);
  const slotW = (W - PAD.left - PAD.right) / slots;
  const groups = o.grouped ? o.series.length : 1;
  const barW = Math.max(1, (slotW * 0.8) / groups);
  const y = (v: number) => PAD.top + (H - PAD.top - PAD.bottom) * (1 - v / yMax);
  const bars = o.series.slice(0, groups).map((s, g) =>
    s.values.map((v, i) => {
      if (v === null || v <= 0) return "";
      const x0 = PAD.left + slotW * i + slotW * 0.1 + barW * g;
      return html`<rect class="bar ${s.tone}" x="${r(x0)}" y="${r(y(v))}" width="${r(barW)}" height="${r(H - PAD.bottom - y(v))}"><title>${o.labels[i]}: ${s.label} ${o.format(v)}</title></rect>`;
    }),
  );
  const every = Math.max(1, Math.ceil(o.labels.length / 8));
  const xTicks = o.labels.map((label, i) =>
    i % every === 0
      ? html`<text class="tick" x="${r(PAD.left + slotW * (i + 0.5))}" y="${H - 8}" text-anchor="middle">${label}</text>`
      : "",
  );
  return html`<figure class="chart">
<svg viewBox="0 0 ${W} ${H}" role="img" aria-label="${o.title}">
<title>${o.title}</title>
${yAxis(W, 0, yMax, o.format)}
${bars}
<line class="axis" x1="${PAD.left}" x2="${W - PAD.right}" y1="${H - PAD.bottom}" y2="${H - PAD.bottom}"/>
${xTicks}
</svg>
${o.series.length > 1 && o.grouped ? legend(o.series) : ""}
</figure>`;
}

/** A one-line trend for a stat card. */
export function sparkline(values: number[], label: string): Html {
  if (values.length < 2) return "" as unknown as Html;
  const max = Math.max(...values, 1);
  const step = 120 / (values.length - 1);
  const d = values.map((v, i) => `${i === 0 ? "M" : "L"}${r(i * step)},${r(30 - (v / max) * 28)}`).join("");
  return html`<svg class="spark" viewBox="0 0 120 32" role="img" aria-label="${label}" preserveAspectRatio="none"><title>${label}</title><path d="${d}"/></svg>`;
}
