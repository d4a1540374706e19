/**
 * `npm run bench:scale`: a wide, messy file at scale. Writes a CSV of 1,000,000 customers x 60 columns
 * (40 numeric with missing-value markers, 18 low-cardinality categories, a 747-level service area, an ID),
 * then, each in a fresh process as a user would run them:
 *   1. reads it into a dataset (the trainer's loader, streaming): rows/s and peak RSS;
 *   2. trains on it with `churn train` at its default budget: wall time, holdout ROC-AUC and peak RSS.
 * Peak RSS is the kernel's (GNU time's maximum resident set size). The bound is 2 GB for both.
 * Prints JSON lines and writes bench/results/scale.json.
 *
 *   node bench/scale.ts                        1M rows, default budget
 *   BENCH_SCALE_ROWS=200000 BENCH_BUDGET=30 node bench/scale.ts
 */
import { execFile } from "node:child_process";
import { once } from "node:events";
import { createWriteStream } from "node:fs";
import { mkdir, mkdtemp, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { loadDataset } from "../trainer/src/data/dataset.ts";
import { createRandom, normal } from "../trainer/src/ml/random.ts";

const repoRoot = path.resolve(fileURLToPath(new URL("..", import.meta.url)));
const rows = Number(process.env["BENCH_SCALE_ROWS"] ?? 1_000_000);
const budget = process.env["BENCH_BUDGET"];
const NUMERIC = 40;
const CATEGORICAL = 18;
const AREAS = 747;
const BOUND_BYTES = 2 * 1024 ** 3;
const run = promisify(execFile);

if (process.argv[2] === "--read") {
  // Child: load the dataset only, then report what it took.
  const started = performance.now();
  const dataset = await loadDataset(process.argv[3]!, { target: "Churn", positive: "Yes" });
  const seconds = (performance.now() - started) / 1000;
  console.log(
    JSON.stringify({
      rows: dataset.rowCount,
      features: dataset.features.length,
      dropped: dataset.dropped.map((d) => d.column),
      seconds,
    }),
  );
  process.exit(0);
}

/** Streams the synthetic file to disk: churn depends on a few numbers, a plan and the service area. */
async function writeData(file: string): Promise<void> {
  const random = createRandom(11);
  const areaEffect = Float64Array.from({ length: AREAS }, () => 0.8 * normal(random));
  const header = [
    "Customer ID",
    ...Array.from({ length: NUMERIC }, (_, i) => `Usage metric ${i + 1}`),
    ...Array.from({ length: CATEGORICAL }, (_, i) => `Plan option ${i + 1}`),
    "Service area",
    "Churn",
  ];
  const out = createWriteStream(file);
  out.write(`${header.map((h) => `"${h}"`).join(",")}\n`);
  let chunk = "";
  for (let r = 0; r < rows; r++) {
    const cells: string[] = [`C${(r * 7919) % 10_000_019}-${r}`];
    let logit = -1.2;
    for (let i = 0; i < NUMERIC; i++) {
      const x = normal(random);
      if (i < 4) logit += (i % 2 ? -0.6 : 0.5) * x;
      cells.push(random() < 0.01 ? (i % 3 ? "NA" : "") : (50 + 20 * x).toFixed(2));
    }
    for (let i = 0; i < CATEGORICAL; i++) {
      const level = Math.floor(random() * (3 + (i % 8)));
      if (i === 0) logit += level === 0 ? 0.7 : -0.2;
      cells.push(`level ${level}`);
    }
    // Areas are Zipf-like: a few big ones, a long tail of small ones.
    const area = Math.min(AREAS - 1, Math.floor(AREAS * random() ** 3));
    logit += areaEffect[area]!;
    cells.push(`AREA-${String(area).padStart(3, "0")}`);
    cells.push(random() < 1 / (1 + Math.exp(-logit)) ? "Yes" : "No");
    chunk += `${cells.join(",")}\n`;
    if (chunk.length > 1 << 20) {
      if (!out.write(chunk)) await once(out, "drain");
      chunk = "";
    }
  }
  out.end(chunk);
  await once(out, "close");
}

/** Runs a command under GNU time; returns its stdout and its peak RSS in bytes. */
async function measured(args: string[]): Promise<{ stdout: string; peakBytes: number; seconds: number }> {
  const started = performance.now();
  const { stdout, stderr } = await run("/usr/bin/time", ["-f", "peak_kb=%M", ...args], {
    cwd: repoRoot,
    maxBuffer: 256 * 1024 * 1024,
  });
  const peak = /peak_kb=(\d+)/.exec(stderr);
  if (!peak) throw new Error(`GNU time printed no peak RSS: ${stderr.slice(-500)}`);
  return { stdout, peakBytes: Number(peak[1]) * 1024, seconds: (performance.now() - started) / 1000 };
}

const dir = await mkdtemp(path.join(tmpdir(), "churn-bench-scale-"));
try {
  const file = path.join(dir, "customers.csv");
  await writeData(file);
  const bytes = (await stat(file)).size;
  const read = await measured([process.execPath, fileURLToPath(import.meta.url), "--read", file]);
  const loaded = JSON.parse(read.stdout) as {
    rows: number;
    features: number;
    dropped: string[];
    seconds: number;
  };
  const reading = {
    bench: "read",
    rows,
    columns: 1 + NUMERIC + CATEGORICAL + 2,
    fileMiB: bytes / 1024 ** 2,
    seconds: loaded.seconds,
    rowsPerSecond: loaded.rows / loaded.seconds,
    mibPerSecond: bytes / 1024 ** 2 / loaded.seconds,
    features: loaded.features,
    dropped: loaded.dropped,
    peakRssMiB: read.peakBytes / 1024 ** 2,
    withinBound: read.peakBytes <= BOUND_BYTES,
  };
  console.log(JSON.stringify(reading));

  const out = path.join(dir, "model");
  const trained = await measured([
    process.execPath,
    path.join(repoRoot, "bin/churn.js"),
    "train",
    "--data",
    file,
    "--target",
    "Churn",
    "--positive",
    "Yes",
    "--out",
    out,
    ...(budget ? ["--time-budget", budget] : []),
    "--json",
  ]);
  const result = JSON.parse(trained.stdout) as {
    seconds: number;
    metrics: Record<string, number>;
    manifest: { family: string; lineage: { params: { timeBudget: number } } };
  };
  const training = {
    bench: "train",
    rows,
    timeBudget: result.manifest.lineage.params.timeBudget,
    seconds: result.seconds,
    wallSeconds: trained.seconds,
    family: result.manifest.family,
    holdoutRocAuc: result.metrics["roc_auc"],
    peakRssMiB: trained.peakBytes / 1024 ** 2,
    withinBound: trained.peakBytes <= BOUND_BYTES,
  };
  console.log(JSON.stringify(training));
  await mkdir(path.join(repoRoot, "bench/results"), { recursive: true });
  await writeFile(
    path.join(repoRoot, "bench/results/scale.json"),
    `${JSON.stringify({ measuredAt: new Date().toISOString(), reading, training }, null, 2)}\n`,
  );
} finally {
  await rm(dir, { recursive: true, force: true });
}
