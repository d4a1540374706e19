/**
 * GBDT training side by side with XGBoost hist, same data, same machine, same sitting:
 * 20 numeric features, binary target, 100 trees, depth 6, 255 bins, learning rate 0.1, λ = 1,
 * min child weight 1, with 1 and 2 threads.
 *
 *   node bench/gbdt.ts                      100k and 200k rows
 *   node bench/gbdt.ts --large              also 1M rows (what `npm run bench:trainer` runs)
 *   node bench/gbdt.ts --sizes 100000 --threads 1 --repeats 5    (prints only; results file untouched)
 *
 * Each size's data is written once to a file (float32 row-major features, uint8 labels, and a 20,000-row
 * holdout) that both sides read; reading it is not timed. XGBoost (bench/python/xgboost_train.py) is timed
 * from DMatrix construction, so its quantile sketch counts; ours from trainBooster, so binning counts.
 * Every run is its own process (its peak RSS is its own) and the two sides alternate, the order swapped
 * every repeat, so a busy machine slows both alike. Both models' holdout margins are scored by the same
 * ROC-AUC code. Prints a table of medians and writes bench/results/gbdt.json.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { rocAuc } from "../trainer/src/ml/metrics.ts";
import { type BoosterParams, trainBooster } from "../trainer/src/ml/models/gbdt/booster.ts";
import { GBDT_DEFAULTS } from "../trainer/src/ml/models/gbdt/params.ts";
import { predictMargins } from "../trainer/src/ml/models/gbdt/tree.ts";
import { createRandom, normal } from "../trainer/src/ml/random.ts";
import { pythonWith } from "./lib/debian.ts";

const FEATURES = 20;
const HOLDOUT_ROWS = 20_000;
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

interface Meta {
  rows: number;
  features: number;
  holdoutRows: number;
  seed: number;
  params: BoosterParams;
}

/** One timed fit, as a child process reports it. */
interface Run {
  seconds: number;
  peakRssMB: number;
  trees: number;
  version?: string;
}

/** Independent normal features; the label depends on a few of them non-linearly, plus noise. */
function syntheticRows(rows: number, seed: number): { x: Float32Array; y: Uint8Array } {
  const random = createRandom(seed);
  const x = new Float32Array(rows * FEATURES);
  const y = new Uint8Array(rows);
  for (let r = 0; r < rows; r++) {
    const row = x.subarray(r * FEATURES, (r + 1) * FEATURES);
    for (let c = 0; c < FEATURES; c++) row[c] = normal(random);
    const logit =
      1.2 * row[0]! -
      0.8 * row[1]! +
      0.6 * row[2]! * row[3]! +
      Math.sin(2 * row[4]!) +
      0.5 * Math.abs(row[5]!) -
      0.4 +
      0.3 * row[6]!;
    y[r] = random() < 1 / (1 + Math.exp(-logit)) ? 1 : 0;
  }
  return { x, y };
}

function writeDataSet(dir: string, rows: number): void {
  const train = syntheticRows(rows, SEED);
  const holdout = syntheticRows(HOLDOUT_ROWS, SEED + 1);
  writeFileSync(path.join(dir, "train.f32"), train.x);
  writeFileSync(path.join(dir, "train.labels"), train.y);
  writeFileSync(path.join(dir, "holdout.f32"), holdout.x);
  writeFileSync(path.join(dir, "holdout.labels"), holdout.y);
  const meta: Meta = { rows, features: FEATURES, holdoutRows: HOLDOUT_ROWS, seed: SEED, params: PARAMS };
  writeFileSync(path.join(dir, "meta.json"), JSON.stringify(meta));
}

function readFloat32(file: string): Float32Array {
  const bytes = readFileSync(file);
  return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
}

/** Row-major float32 to one array per column (the booster's input layout). */
function toColumns(x: Float32Array, rows: number): Float32Array[] {
  const columns = Array.from({ length: FEATURES }, () => new Float32Array(rows));
  for (let r = 0; r < rows; r++) for (let c = 0; c < FEATURES; c++) columns[c]![r] = x[r * FEATURES + c]!;
  return columns;
}

/** Child process: our fit on DIR's data with `threads` threads; writes holdout margins, prints a Run. */
function runOurs(dir: string, threads: number, marginsFile: string): void {
  const meta = JSON.parse(readFileSync(path.join(dir, "meta.json"), "utf8")) as Meta;
  const columns = toColumns(readFloat32(path.join(dir, "train.f32")), meta.rows);
  const y = new Uint8Array(readFileSync(path.join(dir, "train.labels")));

  const started = performance.now();
  const fit = trainBooster({ columns, y }, meta.params, { threads });
  const seconds = (performance.now() - started) / 1000;

  const holdout = toColumns(readFloat32(path.join(dir, "holdout.f32")), meta.holdoutRows);
  writeFileSync(marginsFile, predictMargins(fit.trees, fit.baseScore, holdout, meta.holdoutRows));
  const run: Run = {
    seconds,
    peakRssMB: Math.round(process.resourceUsage().maxRSS / 1024),
    trees: fit.trees.length,
  };
  console.log(JSON.stringify(run));
}

function childRun(command: string, args: string[]): Run {
  const result = spawnSync(command, args, { stdio: ["ignore", "pipe", "inherit"], encoding: "utf8" });
  if (result.status !== 0) throw new Error(`${command} ${args.join(" ")} exited with ${result.status}`);
  return JSON.parse(result.stdout.trim().split("\n").pop()!) as Run;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

const round = (x: number, digits: number) => Number(x.toFixed(digits));

function numberList(args: string[], flag: string): number[] | undefined {
  const at = args.indexOf(flag);
  return at >= 0 ? args[at + 1]!.split(",").map(Number) : undefined;
}

interface SideResult {
  medianSeconds: number;
  runs: number[];
  peakRssMB: number;
  holdoutAuc: number;
}

function summarize(runs: Run[], auc: number): SideResult {
  return {
    medianSeconds: round(median(runs.map((r) => r.seconds)), 3),
    runs: runs.map((r) => round(r.seconds, 3)),
    peakRssMB: Math.max(...runs.map((r) => r.peakRssMB)),
    holdoutAuc: round(auc, 4),
  };
}

function main(args: string[]): void {
  const sizes = numberList(args, "--sizes") ?? [
    100_000,
    200_000,
    ...(args.includes("--large") ? [1_000_000] : []),
  ];
  const threadCounts = numberList(args, "--threads") ?? [1, 2];
  const repeats = numberList(args, "--repeats")?.[0] ?? 3;
  const python = pythonWith(["numpy", "xgboost"], ["python3-xgboost"]);
  const script = fileURLToPath(import.meta.url);
  const pythonScript = fileURLToPath(new URL("./python/xgboost_train.py", import.meta.url));
  const startLoad = loadavg()[0]!;
  const results: unknown[] = [];
  let xgboostVersion = "";
  const table: string[] = [
    "| rows | threads | ours (median) | XGBoost hist (median) | XGBoost ÷ ours | AUC ours | AUC XGBoost | peak RSS ours / XGBoost |",
    "|---|---|---|---|---|---|---|---|",
  ];

  for (const rows of sizes) {
    const dir = mkdtempSync(path.join(tmpdir(), "churn-bench-gbdt-"));
    try {
      writeDataSet(dir, rows);
      const holdoutY = new Uint8Array(readFileSync(path.join(dir, "holdout.labels")));
      const oursMargins = path.join(dir, "ours.f32");
      const xgbMargins = path.join(dir, "xgboost.f32");
      for (const threads of threadCounts) {
        const ours: Run[] = [];
        const xgb: Run[] = [];
        const oursRun = () =>
          ours.push(
            childRun(process.execPath, [
              script,
              "--ours",
              dir,
              "--threads",
              String(threads),
              "--margins",
              oursMargins,
            ]),
          );
        const xgbRun = () =>
          xgb.push(
            childRun(python, [
              pythonScript,
              "--data",
              dir,
              "--threads",
              String(threads),
              "--margins",
              xgbMargins,
            ]),
          );
        for (let i = 0; i < repeats; i++) {
          if (i % 2 === 0) {
            oursRun();
            xgbRun();
          } else {
            xgbRun();
            oursRun();
          }
          console.error(
            `${rows} rows, ${threads} thread(s), run ${i + 1}: ours ${ours.at(-1)!.seconds.toFixed(2)} s, XGBoost ${xgb.at(-1)!.seconds.toFixed(2)} s`,
          );
        }
        xgboostVersion = xgb[0]!.version ?? "";
        const oursSide = summarize(ours, rocAuc(holdoutY, readFloat32(oursMargins)));
        const xgbSide = summarize(xgb, rocAuc(holdoutY, readFloat32(xgbMargins)));
        const ratio = round(xgbSide.medianSeconds / oursSide.medianSeconds, 2);
        // Per-repeat ratios: each pair ran back to back, so load that drifts during the sitting cancels.
        const pairedRatios = ours.map((o, i) => round(xgb[i]!.seconds / o.seconds, 2));
        results.push({ rows, threads, ours: oursSide, xgboost: xgbSide, ratio, pairedRatios });
        table.push(
          `| ${rows.toLocaleString("en-US")} | ${threads} | ${oursSide.medianSeconds} s | ${xgbSide.medianSeconds} s | ${ratio}× | ${oursSide.holdoutAuc} | ${xgbSide.holdoutAuc} | ${oursSide.peakRssMB} / ${xgbSide.peakRssMB} MB |`,
        );
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  console.log(table.join("\n"));
  const out = {
    measuredAt: new Date().toISOString(),
    cpus: cpus().length,
    loadAverageAtStart: round(startLoad, 2),
    node: process.version,
    xgboost: xgboostVersion,
    features: FEATURES,
    holdoutRows: HOLDOUT_ROWS,
    repeats,
    params: PARAMS,
    results,
  };
  if (args.includes("--sizes") || args.includes("--threads")) {
    console.error("A narrowed run (--sizes or --threads): bench/results/gbdt.json left as it was.");
    return;
  }
  writeFileSync(new URL("./results/gbdt.json", import.meta.url), `${JSON.stringify(out, null, 2)}\n`);
}

const args = process.argv.slice(2);
const oursAt = args.indexOf("--ours");
if (oursAt >= 0) {
  runOurs(args[oursAt + 1]!, numberList(args, "--threads")?.[0] ?? 1, args[args.indexOf("--margins") + 1]!);
} else {
  main(args);
}
