import { esc, niceMax, round1 as r } from "./primitives.ts";

/**
 * Charts over a category axis (hours, days, thresholds, bins), drawn as SVG on the server: they work
 * without scripts, print, and need no chart library. Only presentation attributes and classes are used
 * (the console's CSP forbids inline styles). Each chart is an image with a text alternative. The console
 * uses them; its script reads a line chart's data-* attributes to redraw it in place (the what-if).
 */

/** Default drawing size; callers pass the width they are shown at, so text keeps its size. */
const DEFAULT_WIDTH = 640;
const H = 220;
const PAD = { top: 12, right: 12, bottom: 28, left: 48 };

function yAxis(W: number, min: number, max: number, format: (v: number) => string): string {
  const ticks = 5;
  let out = "";
  for (let i = 0; i <= ticks; i++) {
    const v = min + ((max - min) * i) / ticks;
    const y = PAD.top + (H - PAD.top - PAD.bottom) * (1 - i / ticks);
    out += `<line class="grid" x1="${PAD.left}" x2="${W - PAD.right}" y1="${r(y)}" y2="${r(y)}"/><text class="tick" x="${PAD.left - 6}" y="${r(y + 4)}" text-anchor="end">${esc(format(v))}</text>`;
  }
  return out;
}

export interface CategorySeries {
  label: string;
  /** CSS class giving the colour: s1…s6. */
  tone: string;
  values: (number | null)[];
}

export interface SeriesChartOptions {
  title: string;
  xLabels: string[];
  series: CategorySeries[];
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

/** Lines over categories; a gap where a value is null; a lone value is drawn as a dot. */
export function seriesChart(o: SeriesChartOptions): string {
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
      ? s.values
          .map((v, i) =>
            v === null ? "" : `<circle class="dot ${esc(s.tone)}" cx="${r(x(i))}" cy="${r(y(v))}" r="3"/>`,
          )
          .join("")
      : "";
    return `<path class="line ${esc(s.tone)}" d="${d}"/>${dots}`;
  });
  const every = Math.max(1, Math.ceil(o.xLabels.length / 8));
  const xTicks = o.xLabels.map((label, i) =>
    i % every === 0 || i === o.xLabels.length - 1
      ? `<text class="tick" x="${r(x(i))}" y="${H - 8}" text-anchor="middle">${esc(label)}</text>`
      : "",
  );
  const ruleLines = rules.map((rule) => {
    const at = r(y(rule.value));
    const tone = esc(rule.tone);
    return `<line class="rule ${tone}" x1="${PAD.left}" x2="${W - PAD.right}" y1="${at}" y2="${at}"/><text class="rule-label ${tone}" x="${W - PAD.right - 4}" y="${r(y(rule.value) - 4)}" text-anchor="end">${esc(rule.label)}</text>`;
  });
  const marker = o.marker
    ? `<g class="marker" data-marker><line x1="${r(x(o.marker.index))}" x2="${r(x(o.marker.index))}" y1="${PAD.top}" y2="${H - PAD.bottom}"/><text x="${r(x(o.marker.index) + 4)}" y="${PAD.top + 12}">${esc(o.marker.label)}</text></g>`
    : "";
  const id = o.id ? ` id="${esc(o.id)}"` : "";
  const data = `data-ymin="${yMin}" data-ymax="${yMax}" data-n="${n}" data-w="${W}" data-h="${H}" data-pad="${PAD.left},${PAD.right},${PAD.top},${PAD.bottom}"`;
  return `<figure class="chart">
<svg viewBox="0 0 ${W} ${H}" role="img" aria-label="${esc(o.title)}"${id} ${data}>
<title>${esc(o.title)}</title>
${yAxis(W, yMin, yMax, o.format)}
${ruleLines.join("")}
${paths.join("")}
${marker}
${xTicks.join("")}
</svg>
${o.series.length > 1 ? legend(o.series) : ""}
</figure>`;
}

/** Swatches naming the series of a chart. */
export function legend(series: { label: string; tone: string }[]): string {
  const items = series.map((s) => `<li><span class="swatch ${esc(s.tone)}"></span>${esc(s.label)}</li>`);
  return `<ul class="legend">${items.join("")}</ul>`;
}

export interface CategoryBarOptions {
  title: string;
  labels: string[];
  series: CategorySeries[];
  format: (v: number) => string;
  /** Draw the series side by side (grouped) rather than only the first. */
  grouped?: boolean;
  width?: number;
}

/** Vertical bars per category, one series or several side by side. */
export function categoryBarChart(o: CategoryBarOptions): string {
  const W = o.width ?? DEFAULT_WIDTH;
  const all = o.series.flatMap((s) => s.values.filter((v): v is number => v !== null));
  const yMax = niceMax(Math.max(...all, 0));
  const slots = Math.max(1, o.labels.length);
  const slotW = (W - PAD.left - PAD.right) / slots;
  const groups = o.grouped ? o.series.length : 1;
  const barW = Math.max(1, (slotW * 0.8) / groups);
  const y = (v: number) => PAD.top + (H - PAD.top - PAD.bottom) * (1 - v / yMax);
  const bars = o.series.slice(0, groups).map((s, g) =>
    s.values
      .map((v, i) => {
        if (v === null || v <= 0) return "";
        const x0 = PAD.left + slotW * i + slotW * 0.1 + barW * g;
        const tip = `${o.labels[i] ?? ""}: ${s.label} ${o.format(v)}`;
        return `<rect class="bar ${esc(s.tone)}" x="${r(x0)}" y="${r(y(v))}" width="${r(barW)}" height="${r(H - PAD.bottom - y(v))}"><title>${esc(tip)}</title></rect>`;
      })
      .join(""),
  );
  const every = Math.max(1, Math.ceil(o.labels.length / 8));
  const xTicks = o.labels.map((label, i) =>
    i % every === 0
      ? `<text class="tick" x="${r(PAD.left + slotW * (i + 0.5))}" y="${H - 8}" text-anchor="middle">${esc(label)}</text>`
      : "",
  );
  return `<figure class="chart">
<svg viewBox="0 0 ${W} ${H}" role="img" aria-label="${esc(o.title)}">
<title>${esc(o.title)}</title>
${yAxis(W, 0, yMax, o.format)}
${bars.join("")}
<line class="axis" x1="${PAD.left}" x2="${W - PAD.right}" y1="${H - PAD.bottom}" y2="${H - PAD.bottom}"/>
${xTicks.join("")}
</svg>
${o.series.length > 1 && o.grouped ? legend(o.series) : ""}
</figure>`;
}

/** A one-line trend for a stat card; nothing for fewer than two points. */
export function sparkline(values: number[], label: string): string {
  if (values.length < 2) return "";
  const max = Math.max(...values, 1);
  const step = 120 / (values.length - 1);
  const d = values.map((v, i) => `${i === 0 ? "M" : "L"}${r(i * step)},${r(30 - (v / max) * 28)}`).join("");
  return `<svg class="spark" viewBox="0 0 120 32" role="img" aria-label="${esc(label)}" preserveAspectRatio="none"><title>${esc(label)}</title><path d="${d}"/></svg>`;
}
