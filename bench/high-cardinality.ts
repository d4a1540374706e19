/**
 * `npm run bench:high-cardinality`: how a text column with hundreds of levels is best encoded. Writes
 * 50,000 customers whose churn depends on a 747-level service area (a few big areas, a long tail, each
 * with its own effect) and a few other columns, then trains the same split with the area left out, and
 * with its 30, 100 and 300 (the default) most frequent levels kept (the rest pooled with unseen values),
 * and with all of them.
 * Prints holdout ROC-AUC and log loss per choice and writes bench/results/high-cardinality.json.
 *
 *   node bench/high-cardinality.ts            BENCH_ROWS=20000 BENCH_BUDGET=20 node bench/high-cardinality.ts
 */
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { createRandom, normal } from "../trainer/src/ml/random.ts";
import { trainToDirectory } from "../trainer/src/pipeline/train.ts";

const repoRoot = path.resolve(fileURLToPath(new URL("..", import.meta.url)));
const rows = Number(process.env["BENCH_ROWS"] ?? 50_000);
const budget = Number(process.env["BENCH_BUDGET"] ?? 30);
const AREAS = 747;

function customers(): string {
  const random = createRandom(23);
  const effect = Float64Array.from({ length: AREAS }, () => 0.7 * normal(random));
  const lines = ["Tenure,Monthly charges,Contract,Service area,Churn"];
  for (let r = 0; r < rows; r++) {
    const tenure = Math.floor(72 * random());
    const charges = 20 + 100 * random();
    const contract = ["Month-to-month", "One year", "Two year"][Math.floor(3 * random())]!;
    const area = Math.min(AREAS - 1, Math.floor(AREAS * random() ** 3));
    const logit =
      -0.8 - 0.03 * tenure + 0.01 * charges + (contract === "Month-to-month" ? 0.9 : -0.4) + effect[area]!;
    const churn = random() < 1 / (1 + Math.exp(-logit)) ? "Yes" : "No";
    lines.push(`${tenure},${charges.toFixed(2)},${contract},AREA-${area},${churn}`);
  }
  return `${lines.join("\n")}\n`;
}

const choices: { name: string; drop?: string[]; maxCategories?: number }[] = [
  { name: "area left out", drop: ["Service area"] },
  { name: "top 30 levels", maxCategories: 30 },
  { name: "top 100 levels", maxCategories: 100 },
  { name: "top 300 levels (default)", maxCategories: 300 },
  { name: "all 747 levels", maxCategories: 1000 },
];

const dir = await mkdtemp(path.join(tmpdir(), "churn-bench-cardinality-"));
try {
  const data = path.join(dir, "customers.csv");
  await writeFile(data, customers());
  const results = [];
  for (const choice of choices) {
    const result = await trainToDirectory({
      data,
      target: "Churn",
      positive: "Yes",
      out: path.join(dir, choice.name.replace(/\W+/g, "-")),
      timeBudget: budget,
      ...(choice.drop ? { drop: choice.drop } : {}),
      ...(choice.maxCategories ? { maxCategories: choice.maxCategories } : {}),
    });
    const row = {
      choice: choice.name,
      family: result.manifest.family,
      holdoutRocAuc: Number(result.metrics.roc_auc.toFixed(4)),
      holdoutLogLoss: Number(result.metrics.log_loss.toFixed(4)),
      seconds: Number(result.seconds.toFixed(1)),
    };
    results.push(row);
    console.log(JSON.stringify(row));
  }
  await mkdir(path.join(repoRoot, "bench/results"), { recursive: true });
  await writeFile(
    path.join(repoRoot, "bench/results/high-cardinality.json"),
    `${JSON.stringify({ measuredAt: new Date().toISOString(), rows, areas: AREAS, budgetSeconds: budget, results }, null, 2)}\n`,
  );
} finally {
  await rm(dir, { recursive: true, force: true });
}
