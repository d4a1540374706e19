import { esc, extent, niceTicks, tick, truncate } from "./primitives.ts";

/**
 * Charts on numeric axes (curves, scatter, rankings, deciles, SHAP strips), drawn as inline SVG: no
 * scripts, no external assets. Every chart scales with its container (viewBox + CSS width 100%) and
 * colours come from CSS classes, so the page's stylesheet styles them. The training report uses them.
 */

export interface Series {
  x: readonly number[];
  y: readonly number[];
  /** CSS class: s1 (blue), s2 (orange), s3 (green), muted (grey). */
  tone: "s1" | "s2" | "s3" | "muted";
  label: string;
  dashed?: boolean;
  /** Draw points (sized by `sizes`, if given) instead of only a line. */
  points?: boolean;
  sizes?: readonly number[];
}

export interface Marker {
  x: number;
  label: string;
  tone: "s1" | "s2" | "s3" | "muted";
}

export interface XyChartSpec {
  title: string;
  series: Series[];
  xLabel: string;
  yLabel: string;
  xDomain?: [number, number];
  yDomain?: [number, number];
  /** Dashed y = x reference line (ROC, reliability, gain). */
  diagonal?: boolean;
  markers?: Marker[];
  xFormat?: (v: number) => string;
  yFormat?: (v: number) => string;
}

const W = 420;
const H = 300;
const M = { top: 16, right: 16, bottom: 44, left: 56 };

export function xyChart(spec: XyChartSpec): string {
  const xDomain = spec.xDomain ?? extent(spec.series.flatMap((s) => [...s.x]));
  const yDomain =
    spec.yDomain ??
    extent(
      spec.series.flatMap((s) => [...s.y]),
      0.05,
    );
  const plotW = W - M.left - M.right;
  const plotH = H - M.top - M.bottom;
  const sx = (v: number) => M.left + ((v - xDomain[0]) / (xDomain[1] - xDomain[0])) * plotW;
  const sy = (v: number) => M.top + plotH - ((v - yDomain[0]) / (yDomain[1] - yDomain[0])) * plotH;
  const xf = spec.xFormat ?? tick;
  const yf = spec.yFormat ?? tick;
  const parts: string[] = [];

  for (const t of niceTicks(yDomain[0], yDomain[1])) {
    parts.push(
      `<line class="grid" x1="${M.left}" x2="${W - M.right}" y1="${sy(t).toFixed(1)}" y2="${sy(t).toFixed(1)}"/>`,
      `<text class="tick" x="${M.left - 6}" y="${(sy(t) + 4).toFixed(1)}" text-anchor="end">${esc(yf(t))}</text>`,
    );
  }
  for (const t of niceTicks(xDomain[0], xDomain[1])) {
    parts.push(
      `<line class="grid" y1="${M.top}" y2="${M.top + plotH}" x1="${sx(t).toFixed(1)}" x2="${sx(t).toFixed(1)}"/>`,
      `<text class="tick" x="${sx(t).toFixed(1)}" y="${M.top + plotH + 16}" text-anchor="middle">${esc(xf(t))}</text>`,
    );
  }
  parts.push(`<rect class="frame" x="${M.left}" y="${M.top}" width="${plotW}" height="${plotH}"/>`);
  if (spec.diagonal) {
    const lo = Math.max(xDomain[0], yDomain[0]);
    const hi = Math.min(xDomain[1], yDomain[1]);
    parts.push(
      `<line class="ref" x1="${sx(lo).toFixed(1)}" y1="${sy(lo).toFixed(1)}" x2="${sx(hi).toFixed(1)}" y2="${sy(hi).toFixed(1)}"/>`,
    );
  }
  (spec.markers ?? []).forEach((m, i) => {
    if (m.x < xDomain[0] || m.x > xDomain[1]) return;
    const x = sx(m.x).toFixed(1);
    // Labels step down so neighbouring markers stay readable; they sit left of a marker past the middle.
    const right = sx(m.x) > M.left + plotW * 0.6;
    parts.push(
      `<line class="marker ${m.tone}" x1="${x}" x2="${x}" y1="${M.top}" y2="${M.top + plotH}"/>`,
      `<text class="marker-label ${m.tone}" x="${(sx(m.x) + (right ? -4 : 4)).toFixed(1)}" y="${M.top + 12 + 14 * i}"${right ? ' text-anchor="end"' : ""}>${esc(m.label)}</text>`,
    );
  });
  for (const s of spec.series) {
    const coords = s.x.map((x, i) => `${sx(x).toFixed(1)},${sy(s.y[i]!).toFixed(1)}`);
    if (coords.length > 1) {
      parts.push(
        `<polyline class="line ${s.tone}${s.dashed ? " dashed" : ""}" points="${coords.join(" ")}"/>`,
      );
    }
    if (s.points) {
      const maxSize = Math.max(1, ...(s.sizes ?? [1]));
      s.x.forEach((x, i) => {
        const r = s.sizes ? 2.5 + 5 * Math.sqrt(s.sizes[i]! / maxSize) : 3;
        parts.push(
          `<circle class="dot ${s.tone}" cx="${sx(x).toFixed(1)}" cy="${sy(s.y[i]!).toFixed(1)}" r="${r.toFixed(1)}"><title>${esc(`${s.label}: ${xf(x)}, ${yf(s.y[i]!)}${s.sizes ? ` (n=${s.sizes[i]})` : ""}`)}</title></circle>`,
        );
      });
    }
  }
  parts.push(
    `<text class="axis" x="${M.left + plotW / 2}" y="${H - 6}" text-anchor="middle">${esc(spec.xLabel)}</text>`,
    `<text class="axis" transform="translate(14 ${M.top + plotH / 2}) rotate(-90)" text-anchor="middle">${esc(spec.yLabel)}</text>`,
  );
  return figure(spec.title, W, H, parts.join(""), spec.series);
}

export interface Bar {
  label: string;
  value: number;
  note?: string;
}

/** Horizontal bars, largest first, for importance rankings. */
export function rankingChart(title: string, bars: readonly Bar[], format: (v: number) => string): string {
  const rowH = 22;
  const labelW = 150;
  const height = M.top + bars.length * rowH + 8;
  const max = Math.max(...bars.map((b) => b.value), 1e-12);
  const plotW = W - labelW - 60;
  const parts = bars.map((b, i) => {
    const y = M.top + i * rowH;
    const w = Math.max(1, (b.value / max) * plotW);
    return [
      `<text class="tick" x="${labelW - 8}" y="${y + 15}" text-anchor="end">${esc(truncate(b.label, 22))}</text>`,
      `<rect class="bar s1" x="${labelW}" y="${y + 4}" width="${w.toFixed(1)}" height="${rowH - 8}"><title>${esc(`${b.label}: ${format(b.value)}${b.note ? ` (${b.note})` : ""}`)}</title></rect>`,
      `<text class="tick" x="${(labelW + w + 6).toFixed(1)}" y="${y + 15}">${esc(format(b.value))}</text>`,
    ].join("");
  });
  return figure(title, W, height, parts.join(""));
}

/** Vertical bars per decile with a reference line at 1 (lift). */
export function columnChart(
  title: string,
  labels: readonly string[],
  values: readonly number[],
  xLabel: string,
  yLabel: string,
  reference?: number,
): string {
  const plotW = W - M.left - M.right;
  const plotH = H - M.top - M.bottom;
  const max = Math.max(...values, reference ?? 0) * 1.1 || 1;
  const sy = (v: number) => M.top + plotH - (v / max) * plotH;
  const band = plotW / Math.max(values.length, 1);
  const parts: string[] = [];
  for (const t of niceTicks(0, max)) {
    parts.push(
      `<line class="grid" x1="${M.left}" x2="${W - M.right}" y1="${sy(t).toFixed(1)}" y2="${sy(t).toFixed(1)}"/>`,
      `<text class="tick" x="${M.left - 6}" y="${(sy(t) + 4).toFixed(1)}" text-anchor="end">${esc(tick(t))}</text>`,
    );
  }
  values.forEach((v, i) => {
    const x = M.left + i * band + band * 0.15;
    parts.push(
      `<rect class="bar s1" x="${x.toFixed(1)}" y="${sy(v).toFixed(1)}" width="${(band * 0.7).toFixed(1)}" height="${(M.top + plotH - sy(v)).toFixed(1)}"><title>${esc(`${labels[i]}: ${tick(v)}`)}</title></rect>`,
      `<text class="tick" x="${(M.left + (i + 0.5) * band).toFixed(1)}" y="${M.top + plotH + 16}" text-anchor="middle">${esc(labels[i]!)}</text>`,
    );
  });
  if (reference !== undefined) {
    parts.push(
      `<line class="ref" x1="${M.left}" x2="${W - M.right}" y1="${sy(reference).toFixed(1)}" y2="${sy(reference).toFixed(1)}"/>`,
    );
  }
  parts.push(
    `<rect class="frame" x="${M.left}" y="${M.top}" width="${plotW}" height="${plotH}"/>`,
    `<text class="axis" x="${M.left + plotW / 2}" y="${H - 6}" text-anchor="middle">${esc(xLabel)}</text>`,
    `<text class="axis" transform="translate(14 ${M.top + plotH / 2}) rotate(-90)" text-anchor="middle">${esc(yLabel)}</text>`,
  );
  return figure(title, W, H, parts.join(""));
}

export interface StripRow {
  label: string;
  /** Contribution per sampled row. */
  values: readonly number[];
  /** 0..1 colour position per row (feature value percentile), or undefined for grey. */
  shades: readonly (number | undefined)[];
}

/**
 * SHAP summary: one strip per feature, a dot per explained row at its contribution, coloured from blue
 * (low feature value) to red (high); categorical features are grey. Dots are jittered deterministically.
 */
export function stripChart(title: string, rows: readonly StripRow[], xLabel: string): string {
  const labelW = 150;
  const rowH = 24;
  const width = 640;
  const plotW = width - labelW - M.right;
  const height = M.top + rows.length * rowH + 44;
  const all = rows.flatMap((r) => [...r.values]);
  const [lo, hi] = extent([...all, 0], 0.05);
  const sx = (v: number) => labelW + ((v - lo) / (hi - lo)) * plotW;
  const parts: string[] = [];
  const bottom = M.top + rows.length * rowH;
  for (const t of niceTicks(lo, hi)) {
    parts.push(
      `<line class="grid" x1="${sx(t).toFixed(1)}" x2="${sx(t).toFixed(1)}" y1="${M.top}" y2="${bottom}"/>`,
      `<text class="tick" x="${sx(t).toFixed(1)}" y="${bottom + 16}" text-anchor="middle">${esc(tick(t))}</text>`,
    );
  }
  parts.push(
    `<line class="ref" x1="${sx(0).toFixed(1)}" x2="${sx(0).toFixed(1)}" y1="${M.top}" y2="${bottom}"/>`,
  );
  rows.forEach((row, i) => {
    const mid = M.top + i * rowH + rowH / 2;
    parts.push(
      `<text class="tick" x="${labelW - 8}" y="${mid + 4}" text-anchor="end">${esc(truncate(row.label, 22))}</text>`,
    );
    row.values.forEach((v, k) => {
      const jitter = ((((k * 2654435761) >>> 0) % 1000) / 1000 - 0.5) * (rowH - 8);
      const shade = row.shades[k];
      const fill = shade === undefined ? "var(--muted)" : ramp(shade);
      parts.push(
        `<circle cx="${sx(v).toFixed(1)}" cy="${(mid + jitter).toFixed(1)}" r="2.2" fill="${fill}"/>`,
      );
    });
  });
  parts.push(
    `<text class="axis" x="${labelW + plotW / 2}" y="${height - 8}" text-anchor="middle">${esc(xLabel)}</text>`,
  );
  return figure(title, width, height, `<g fill-opacity="0.7">${parts.join("")}</g>`, undefined, "wide");
}

/** Blue (0) through light grey to red (1). */
function ramp(t: number): string {
  const c = Math.min(Math.max(t, 0), 1);
  const blue = [37, 99, 235];
  const mid = [203, 213, 225];
  const red = [220, 38, 38];
  const [a, b, u] = c < 0.5 ? [blue, mid, c * 2] : [mid, red, (c - 0.5) * 2];
  const mix = a.map((v, i) => Math.round(v + (b[i]! - v) * u));
  return `rgb(${mix.join(",")})`;
}

function figure(
  title: string,
  width: number,
  height: number,
  body: string,
  legend?: readonly Series[],
  extra = "",
): string {
  const legendHtml =
    legend && legend.length > 1
      ? `<div class="legend">${legend
          .map(
            (s) => `<span><i class="swatch ${s.tone}${s.dashed ? " dashed" : ""}"></i>${esc(s.label)}</span>`,
          )
          .join("")}</div>`
      : "";
  return `<figure class="chart ${extra}"><figcaption>${esc(title)}</figcaption><svg viewBox="0 0 ${width} ${height}" role="img" aria-label="${esc(title)}">${body}</svg>${legendHtml}</figure>`;
}
