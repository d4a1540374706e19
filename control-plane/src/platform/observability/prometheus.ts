/**
 * Just enough of the Prometheus text exposition format (0.0.4) for the control plane's own metrics:
 * counters, histograms and gauges with labels. Every metric caps its number of label sets, so a bug that
 * passed unbounded values (raw paths, ids) could not grow memory or the scrape without limit.
 */

export const EXPOSITION_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/** Beyond this many label sets, new ones are folded into a single `overflow="true"` series. */
const MAX_SERIES = 500;

type Labels = Record<string, string>;

function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

function escapeHelp(text: string): string {
  return text.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
}

function renderLabels(labels: Labels): string {
  const pairs = Object.entries(labels).map(([k, v]) => `${k}="${escapeLabelValue(v)}"`);
  return pairs.length > 0 ? `{${pairs.join(",")}}` : "";
}

function formatNumber(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Number.POSITIVE_INFINITY) return "+Inf";
  if (value === Number.NEGATIVE_INFINITY) return "-Inf";
  return String(value);
}

abstract class Metric<Series> {
  readonly #series = new Map<string, { labels: Labels; value: Series }>();
  readonly name: string;
  readonly help: string;
  readonly labelNames: readonly string[];

  constructor(name: string, help: string, labelNames: readonly string[]) {
    this.name = name;
    this.help = help;
    this.labelNames = labelNames;
  }

  protected abstract empty(): Series;

  protected series(labels: Labels): Series {
    const ordered: Labels = {};
    for (const n of this.labelNames) ordered[n] = labels[n] ?? "";
    let key = JSON.stringify(ordered);
    let entry = this.#series.get(key);
    if (!entry && this.#series.size >= MAX_SERIES) {
      const overflow: Labels = {};
      for (const n of this.labelNames) overflow[n] = "overflow";
      key = JSON.stringify(overflow);
      entry = this.#series.get(key);
      if (!entry) {
        entry = { labels: overflow, value: this.empty() };
        this.#series.set(key, entry);
      }
    }
    if (!entry) {
      entry = { labels: ordered, value: this.empty() };
      this.#series.set(key, entry);
    }
    return entry.value;
  }

  protected all(): { labels: Labels; value: Series }[] {
    return [...this.#series.values()];
  }

  protected header(type: string): string {
    return `# HELP ${this.name} ${escapeHelp(this.help)}\n# TYPE ${this.name} ${type}\n`;
  }

  abstract render(): string;
}

export class Counter extends Metric<{ value: number }> {
  protected empty() {
    return { value: 0 };
  }

  inc(labels: Labels = {}, by = 1): void {
    this.series(labels).value += by;
  }

  render(): string {
    const lines = this.all().map(
      (s) => `${this.name}${renderLabels(s.labels)} ${formatNumber(s.value.value)}`,
    );
    if (lines.length === 0 && this.labelNames.length === 0) lines.push(`${this.name} 0`);
    return this.header("counter") + lines.map((l) => `${l}\n`).join("");
  }
}

interface HistogramSeries {
  counts: number[];
  sum: number;
  count: number;
}

export class Histogram extends Metric<HistogramSeries> {
  readonly buckets: readonly number[];

  constructor(name: string, help: string, labelNames: readonly string[], buckets: readonly number[]) {
    super(name, help, labelNames);
    this.buckets = [...buckets].sort((a, b) => a - b);
  }

  protected empty(): HistogramSeries {
    return { counts: this.buckets.map(() => 0), sum: 0, count: 0 };
  }

  observe(labels: Labels, value: number): void {
    const s = this.series(labels);
    // Counts are stored per bucket and accumulated at render time (buckets are cumulative in the format).
    const i = this.buckets.findIndex((b) => value <= b);
    if (i >= 0) s.counts[i]!++;
    s.sum += value;
    s.count++;
  }

  render(): string {
    let out = this.header("histogram");
    for (const { labels, value } of this.all()) {
      let cumulative = 0;
      for (const [i, upper] of this.buckets.entries()) {
        cumulative += value.counts[i]!;
        out += `${this.name}_bucket${renderLabels({ ...labels, le: formatNumber(upper) })} ${cumulative}\n`;
      }
      out += `${this.name}_bucket${renderLabels({ ...labels, le: "+Inf" })} ${value.count}\n`;
      out += `${this.name}_sum${renderLabels(labels)} ${formatNumber(value.sum)}\n`;
      out += `${this.name}_count${renderLabels(labels)} ${value.count}\n`;
    }
    return out;
  }
}

/** A value read at scrape time (e.g. a row count), rendered without labels. */
export function renderGauge(name: string, help: string, value: number): string {
  return `# HELP ${name} ${escapeHelp(help)}\n# TYPE ${name} gauge\n${name} ${formatNumber(value)}\n`;
}
