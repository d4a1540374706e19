/**
 * `npm run bench:accuracy`: trains with each data set's split.json (AutoML, --time-budget 60 by default)
 * and prints the holdout ROC-AUC, log loss and ECE beside the best anchors of ../shared/anchors/ACCURACY.md,
 * as ratios, with the targets. Writes bench/results/accuracy.json.
 *
 *   node bench/accuracy.ts            BENCH_BUDGET=30 node bench/accuracy.ts
 */
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { loadavg, tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { trainToDirectory } from "../trainer/src/pipeline/train.ts";

const repoRoot = path.resolve(fileURLToPath(new URL("..", import.meta.url)));
const shared = path.resolve(repoRoot, "../shared");
const budget = Number(process.env["BENCH_BUDGET"] ?? 60);

/**
 * The bar on each data set's fixed split: holdout ROC-AUC at least the best anchor's, log loss at most the
 * best anchor's, and ECE at most max(ECE_FLOOR, the noise floor metrics.json reports: the ECE a perfectly
 * calibrated model shows on that many holdout rows).
 */
const ECE_FLOOR = 0.02;

const DATASETS = [
  { name: "telco", csv: "data/telco/WA_Fn-UseC_-Telco-Customer-Churn.csv", target: "Churn", positive: "Yes" },
  { name: "bank", csv: "data/bank/Churn_Modelling.csv", target: "Exited", positive: "1" },
];

interface Anchor {
  model: string;
  rocAuc: number;
  logLoss: number;
}

/** Rows of the "best anchor on the holdout" table: | dataset | model | ROC-AUC | log loss | acc@0.5 |. */
function parseAnchors(markdown: string): Record<string, Anchor> {
  const out: Record<string, Anchor> = {};
  for (const line of markdown.split("\n")) {
    const cells = line.split("|").map((c) => c.trim());
    // ["", dataset, model, auc, logloss, acc, ""]
    if (cells.length !== 7 || !DATASETS.some((d) => d.name === cells[1])) continue;
    const rocAuc = Number(cells[3]);
    const logLoss = Number(cells[4]);
    if (Number.isFinite(rocAuc) && Number.isFinite(logLoss))
      out[cells[1]!] = { model: cells[2]!, rocAuc, logLoss };
  }
  return out;
}

const anchorsFile = path.join(shared, "anchors/ACCURACY.md");
const missing = DATASETS.filter((d) => !existsSync(path.join(shared, d.csv)));
if (missing.length > 0 || !existsSync(anchorsFile)) {
  console.error(
    `bench/accuracy: skipped, ${[...missing.map((d) => d.csv), ...(existsSync(anchorsFile) ? [] : ["anchors/ACCURACY.md"])].join(", ")} not found under ${shared} (expected ../shared beside the repository)`,
  );
  process.exit(0);
}

const anchors = parseAnchors(await readFile(anchorsFile, "utf8"));
const dir = await mkdtemp(path.join(tmpdir(), "churn-bench-accuracy-"));
const results: Record<string, unknown>[] = [];
try {
  for (const d of DATASETS) {
    const csv = path.join(shared, d.csv);
    // The search explores less when the machine is busy (the budget is wall time): record how busy it was.
    const loadAverage = round(loadavg()[0]!, 1);
    const result = await trainToDirectory({
      data: csv,
      split: path.join(path.dirname(csv), "split.json"),
      target: d.target,
      positive: d.positive,
      out: path.join(dir, d.name),
      timeBudget: budget,
    });
    const anchor = anchors[d.name]!;
    const eceTarget = Math.max(ECE_FLOOR, eceNoiseFloorOf(result.metrics));
    const m = result.metrics;
    const automl = JSON.parse(await readFile(result.files.metrics, "utf8")).automl as {
      candidates: number;
      stoppedByBudget: boolean;
    };
    const row = {
      dataset: d.name,
      budgetSeconds: budget,
      trainSeconds: round(result.seconds, 1),
      loadAverage,
      candidates: automl.candidates,
      stoppedByBudget: automl.stoppedByBudget,
      family: result.manifest.family,
      members: (result.manifest.lineage.params["members"] as { weight: number; description: string }[]).map(
        (x) => `${x.weight} × ${x.description}`,
      ),
      calibration: result.manifest.calibration?.method,
      holdout: {
        rocAuc: round(m.roc_auc, 4),
        logLoss: round(m.log_loss, 4),
        ece: round(m.ece, 4),
        eceNoiseFloor: round(m["ece_noise_floor"]!, 4),
      },
      cv: {
        rocAuc: round(result.cv["roc_auc"]!, 4),
        logLoss: round(result.cv["log_loss"]!, 4),
        ece: round(result.cv["ece"]!, 4),
      },
      anchor,
      ratios: {
        rocAuc: round(m.roc_auc / anchor.rocAuc, 4),
        logLoss: round(m.log_loss / anchor.logLoss, 4),
      },
      targets: {
        rocAuc: { target: anchor.rocAuc, met: m.roc_auc >= anchor.rocAuc },
        logLoss: { target: anchor.logLoss, met: m.log_loss <= anchor.logLoss },
        ece: { target: round(eceTarget, 4), met: m.ece <= eceTarget },
      },
    };
    results.push(row);
    console.error(
      `${d.name}: ROC-AUC ${m.roc_auc.toFixed(4)} (anchor ${anchor.rocAuc}, x${row.ratios.rocAuc}), log loss ${m.log_loss.toFixed(4)} (anchor ${anchor.logLoss}, x${row.ratios.logLoss}), ECE ${m.ece.toFixed(4)}, ${result.seconds.toFixed(1)} s`,
    );
  }
} finally {
  await rm(dir, { recursive: true, force: true });
}

const report = { measuredAt: new Date().toISOString(), budgetSeconds: budget, results };
console.log(JSON.stringify(report, null, 2));
await mkdir(path.join(repoRoot, "bench/results"), { recursive: true });
await writeFile(path.join(repoRoot, "bench/results/accuracy.json"), `${JSON.stringify(report, null, 2)}\n`);

function eceNoiseFloorOf(metrics: Record<string, number>): number {
  return metrics["ece_noise_floor"] ?? 0;
}

function round(x: number, digits: number): number {
  return Number(x.toFixed(digits));
}
