/**
 * `npm run bench:trainer` (after bench/gbdt.ts): wall time of `churn train --time-budget 60` on the Telco
 * and bank data (their split.json holdouts), and `churn predict` throughput on a 200,000-row synthetic
 * file, each in a fresh process as a user would run them. Prints JSON and writes bench/results/trainer.json.
 *
 *   node bench/trainer.ts                 budget 60 s, 200k rows
 *   BENCH_BUDGET=20 BENCH_ROWS=50000 node bench/trainer.ts
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { cpus, tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const repoRoot = path.resolve(fileURLToPath(new URL("..", import.meta.url)));
const sharedData = path.resolve(repoRoot, "../shared/data");
const churn = path.join(repoRoot, "bin/churn.js");
const budget = Number(process.env["BENCH_BUDGET"] ?? 60);
const predictRows = Number(process.env["BENCH_ROWS"] ?? 200_000);

interface DataSet {
  name: string;
  csv: string;
  target: string;
  positive: string;
}

const DATASETS: DataSet[] = [
  { name: "telco", csv: "telco/WA_Fn-UseC_-Telco-Customer-Churn.csv", target: "Churn", positive: "Yes" },
  { name: "bank", csv: "bank/Churn_Modelling.csv", target: "Exited", positive: "1" },
];

const run = promisify(execFile);

async function churnCli(args: string[]): Promise<{ stdout: string; seconds: number }> {
  const started = performance.now();
  const { stdout } = await run(process.execPath, [churn, ...args], {
    cwd: repoRoot,
    maxBuffer: 64 * 1024 * 1024,
  });
  return { stdout, seconds: (performance.now() - started) / 1000 };
}

const missing = DATASETS.filter((d) => !existsSync(path.join(sharedData, d.csv)));
if (missing.length > 0) {
  console.error(
    `bench/trainer: skipped, ${missing.map((d) => d.name).join(" and ")} data not found under ${sharedData} (expected ../shared/data beside the repository)`,
  );
  process.exit(0);
}

const dir = await mkdtemp(path.join(tmpdir(), "churn-bench-trainer-"));
try {
  const training: Record<string, unknown>[] = [];
  for (const d of DATASETS) {
    const csv = path.join(sharedData, d.csv);
    const out = path.join(dir, d.name);
    const { stdout, seconds } = await churnCli([
      "train",
      ...["--data", csv, "--split", path.join(path.dirname(csv), "split.json")],
      ...["--target", d.target, "--positive", d.positive, "--out", out],
      ...["--time-budget", String(budget), "--json"],
    ]);
    const result = JSON.parse(stdout);
    training.push({
      dataset: d.name,
      budgetSeconds: budget,
      wallSeconds: round(seconds, 2),
      trainSeconds: round(result.seconds, 2),
      family: result.manifest.family,
      runs: result.runs,
      holdoutRocAuc: round(result.metrics.roc_auc, 4),
      holdoutLogLoss: round(result.metrics.log_loss, 4),
      holdoutEce: round(result.metrics.ece, 4),
    });
    console.error(`trained ${d.name} in ${seconds.toFixed(1)} s`);
  }

  // Scoring: the Telco model on synthetic customers with the Telco schema.
  const scoresCsv = path.join(dir, "customers.csv");
  await churnCli(["synth", "--rows", String(predictRows), "--seed", "11", "--out", scoresCsv]);
  const predicted = await churnCli([
    "predict",
    ...[
      "--model",
      path.join(dir, "telco"),
      "--data",
      scoresCsv,
      "--out",
      path.join(dir, "scores.csv"),
      "--json",
    ],
  ]);
  const p = JSON.parse(predicted.stdout);
  const results = {
    measuredAt: new Date().toISOString(),
    cpus: cpus().length,
    node: process.version,
    training,
    predict: {
      rows: p.rows,
      batch: 4096,
      seconds: round(p.seconds, 2),
      rowsPerSecond: Math.round(p.rowsPerSecond),
      wallSecondsIncludingStartup: round(predicted.seconds, 2),
    },
  };
  console.log(JSON.stringify(results, null, 2));
  await mkdir(path.join(repoRoot, "bench/results"), { recursive: true });
  await writeFile(path.join(repoRoot, "bench/results/trainer.json"), `${JSON.stringify(results, null, 2)}\n`);
} finally {
  await rm(dir, { recursive: true, force: true });
}

function round(x: number, digits: number): number {
  return Number(x.toFixed(digits));
}
