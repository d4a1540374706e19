/**
 * GBDT training benchmark, comparable with the XGBoost figures in ../shared/anchors/SPEED.md:
 * 20 numeric features, binary target, 100 trees, depth 6, 255 bins, learning rate 0.1, λ = 1, one thread.
 *
 *   node bench/gbdt.ts               10k and 100k rows
 *   node bench/gbdt.ts --large       also 1M rows
 *   node bench/gbdt.ts --rows 200000 one size, in this process
 *
 * Each size runs in its own child process (so peak RSS belongs to that size) and is timed 3 times; one JSON
 * line per size gives the median wall time of trainBooster (binning included, data generation excluded).
 */
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { rocAuc } from "../trainer/src/ml/metrics.ts";
import { type BoosterParams, trainBooster } from "../trainer/src/ml/models/gbdt/booster.ts";
import { GBDT_DEFAULTS } from "../trainer/src/ml/models/gbdt/params.ts";
import { predictMargins } from "../trainer/src/ml/models/gbdt/tree.ts";
import { createRandom, normal } from "../trainer/src/ml/random.ts";

const FEATURES = 20;
const REPEATS = 3;
const SEED = 7;

const PARAMS: BoosterParams = {
  ...GBDT_DEFAULTS,
  rounds: 100,
  learningRate: 0.1,
  growth: "depthwise",
  maxDepth: 6,
  maxLeaves: 0,
  maxBins: 255,
  lambda: 1,
  gamma: 0,
  minChildWeight: 1,
  subsample: 1,
  colsampleByTree: 1,
  earlyStoppingRounds: 0,
  seed: SEED,
};

/** Correlated-free normal features; the label depends on a few of them non-linearly, plus noise. */
function syntheticData(rows: number, seed: number): { columns: Float32Array[]; y: Uint8Array } {
  const random = createRandom(seed);
  const columns = Array.from({ length: FEATURES }, () => new Float32Array(rows));
  const y = new Uint8Array(rows);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < FEATURES; c++) columns[c]![r] = normal(random);
    const x = (c: number) => columns[c]![r]!;
    const logit =
      1.2 * x(0) -
      0.8 * x(1) +
      0.6 * x(2) * x(3) +
      Math.sin(2 * x(4)) +
      0.5 * Math.abs(x(5)) -
      0.4 +
      0.3 * x(6);
    y[r] = random() < 1 / (1 + Math.exp(-logit)) ? 1 : 0;
  }
  return { columns, y };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

function runSize(rows: number): void {
  const train = syntheticData(rows, SEED);
  const holdout = syntheticData(20_000, SEED + 1);
  const seconds: number[] = [];
  let auc = 0;
  for (let i = 0; i < REPEATS; i++) {
    const start = performance.now();
    const fit = trainBooster(train, PARAMS);
    seconds.push((performance.now() - start) / 1000);
    auc = rocAuc(holdout.y, predictMargins(fit.trees, fit.baseScore, holdout.columns, holdout.y.length));
  }
  console.log(
    JSON.stringify({
      rows,
      features: FEATURES,
      trees: PARAMS.rounds,
      depth: PARAMS.maxDepth,
      medianSeconds: Number(median(seconds).toFixed(3)),
      runs: seconds.map((s) => Number(s.toFixed(3))),
      peakRssMB: Math.round(process.resourceUsage().maxRSS / 1024),
      holdoutAuc: Number(auc.toFixed(4)),
    }),
  );
}

const args = process.argv.slice(2);
const child = args.indexOf("--rows");
if (child >= 0) {
  runSize(Number(args[child + 1]));
} else {
  const sizes = [10_000, 100_000, 200_000, ...(args.includes("--large") ? [1_000_000] : [])];
  const script = fileURLToPath(import.meta.url);
  const results: unknown[] = [];
  for (const rows of sizes) {
    // One process per size, so each peak RSS is that size's own.
    const result = spawnSync(process.execPath, [script, "--rows", String(rows)], {
      stdio: ["ignore", "pipe", "inherit"],
      encoding: "utf8",
    });
    if (result.status !== 0) process.exit(result.status ?? 1);
    process.stdout.write(result.stdout);
    results.push(JSON.parse(result.stdout.trim().split("\n").pop()!));
  }
  const out = { measuredAt: new Date().toISOString(), params: PARAMS, threads: 1, results };
  writeFileSync(new URL("./results/gbdt.json", import.meta.url), `${JSON.stringify(out, null, 2)}\n`);
}
