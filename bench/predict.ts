/**
 * `npm run bench:trainer` (last step): `churn predict` beside the Python batch job it replaces, end to
 * end, each timed as a user runs it. Both sides score the same 200,000-row CSV: Telco's rows resampled
 * with their raw text columns (and a unique customerID), the file a real export would be.
 *
 *   ours    `churn predict` from the node process's start to the scores CSV written, with a model
 *           `churn train --model gbdt --no-ensemble --params SHAPE` fit on the Telco rows split.json
 *           names for training: exactly SHAPE's trees, no search, so every run scores the same model;
 *   theirs  bench/python/predict_pipeline.py from the interpreter's start (imports, read_csv,
 *           predict_proba, to_csv), with a scikit-learn one-hot + XGBoost 1.7 hist pipeline of the same
 *           SHAPE fit on the same rows by bench/python/train_pipeline.py and saved beforehand.
 *
 * The two commands alternate, after one untimed run of each (warm file and compile caches on both sides),
 * and the medians of the same sitting are compared. For context only, each round also times `churn
 * predict` with the model a default `churn train` returns (AutoML, usually an ensemble with far more
 * trees): it is reported on its own line, never as the comparison. Needs python3 with xgboost,
 * scikit-learn and pandas: Debian's packages are installed when missing (and the bench says so). Writes
 * bench/results/predict.json.
 *
 *   node bench/predict.ts             BENCH_ROWS=50000 BENCH_REPEATS=9 BENCH_DEFAULT_BUDGET=30 node bench/predict.ts
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { cpus, loadavg, tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { type ExplainerTree, explainerPackageSchema } from "#shared/explainer.ts";
import { manifestSchema } from "#shared/manifest.ts";
import { parseCsvText } from "../trainer/src/data/csv.ts";
import { quoteCsv } from "../trainer/src/data/csv-writer.ts";
import { createRandom } from "../trainer/src/ml/random.ts";
import { pythonWith } from "./lib/debian.ts";
import { SERVICE_MODEL_SHAPE } from "./lib/python-service.ts";

const repoRoot = path.resolve(fileURLToPath(new URL("..", import.meta.url)));
const sharedData = path.resolve(repoRoot, "../shared/data");
const churn = path.join(repoRoot, "bin/churn.js");
const rows = Number(process.env["BENCH_ROWS"] ?? 200_000);
const repeats = Math.max(5, Number(process.env["BENCH_REPEATS"] ?? 7));
/** The model both sides score: the same shape the Python service serves in bench:edge. */
const SHAPE = SERVICE_MODEL_SHAPE;
/** Time budget of the default model's training (context line); unset, `churn train`'s own default. */
const defaultBudget = process.env["BENCH_DEFAULT_BUDGET"];
const TELCO = { csv: "telco/WA_Fn-UseC_-Telco-Customer-Churn.csv", target: "Churn", positive: "Yes" };
const ID = "customerID";
const PYTHON_MODULES = ["xgboost", "sklearn", "pandas", "joblib"];

const telcoCsv = path.join(sharedData, TELCO.csv);
if (!existsSync(telcoCsv)) {
  console.error(
    `bench/predict: skipped, ${TELCO.csv} not found under ${sharedData} (expected ../shared/data beside the repository)`,
  );
  process.exit(0);
}
const python = pythonWith(PYTHON_MODULES, ["python3-xgboost", "python3-sklearn", "python3-pandas"]);

const dir = await mkdtemp(path.join(tmpdir(), "churn-bench-predict-"));
try {
  const customers = path.join(dir, "customers.csv");
  await writeFile(customers, await resampledTelco(rows, 7));
  const split = path.join(path.dirname(telcoCsv), "split.json");

  const telcoArgs = [
    "--data",
    telcoCsv,
    "--split",
    split,
    "--target",
    TELCO.target,
    "--positive",
    TELCO.positive,
  ];
  const ours = path.join(dir, "model");
  run(process.execPath, [
    churn,
    "train",
    ...telcoArgs,
    ...["--model", "gbdt", "--no-ensemble", "--params", JSON.stringify(SHAPE), "--out", ours, "--json"],
  ]);
  const oursModel = await describeModel(ours);
  if (oursModel.trees !== SHAPE.rounds || oursModel.maxDepth > SHAPE.maxDepth) {
    throw new Error(`churn train made ${oursModel.trees} trees of depth ${oursModel.maxDepth}, not SHAPE's`);
  }
  const defaultDir = path.join(dir, "default-model");
  run(process.execPath, [
    churn,
    "train",
    ...telcoArgs,
    ...(defaultBudget !== undefined ? ["--time-budget", defaultBudget] : []),
    ...["--out", defaultDir, "--json"],
  ]);
  const defaultModel = await describeModel(defaultDir);
  const theirs = path.join(dir, "pipeline.joblib");
  const theirsFit = JSON.parse(
    run(python, [
      path.join(repoRoot, "bench/python/train_pipeline.py"),
      ...telcoArgs,
      ...["--id", ID, "--params", JSON.stringify(SHAPE), "--out", theirs],
    ]),
  ) as { trees: number; xgboost: Record<string, unknown> };
  if (theirsFit.trees !== SHAPE.rounds) throw new Error(`XGBoost fitted ${theirsFit.trees} trees`);

  const commands = {
    churn: [
      process.execPath,
      churn,
      "predict",
      "--model",
      ours,
      "--data",
      customers,
      "--out",
      path.join(dir, "churn.csv"),
    ],
    python: [
      python,
      path.join(repoRoot, "bench/python/predict_pipeline.py"),
      theirs,
      customers,
      path.join(dir, "python.csv"),
    ],
    churnDefault: [
      process.execPath,
      churn,
      "predict",
      "--model",
      defaultDir,
      "--data",
      customers,
      "--out",
      path.join(dir, "churn-default.csv"),
    ],
  } as const;
  const loadAtStart = loadavg().map((x) => round(x, 2));
  for (const command of Object.values(commands)) run(command[0], command.slice(1));
  const seconds: Record<keyof typeof commands, number[]> = { churn: [], python: [], churnDefault: [] };
  for (let i = 0; i < repeats; i++) {
    // Alternating, and swapping which goes first, spreads the machine's drift over both sides. The default
    // model's run is context, not the comparison, and comes after the pair.
    const order = i % 2 === 0 ? (["churn", "python"] as const) : (["python", "churn"] as const);
    for (const side of [...order, "churnDefault"] as const) seconds[side].push(timed(commands[side]));
    console.error(
      `run ${i + 1}/${repeats}: churn ${seconds.churn.at(-1)!.toFixed(2)} s, python ${seconds.python.at(-1)!.toFixed(2)} s (default model ${seconds.churnDefault.at(-1)!.toFixed(2)} s)`,
    );
  }
  for (const file of ["churn.csv", "churn-default.csv"]) {
    const scored = (await readFile(path.join(dir, file), "utf8")).split("\n").length - 2;
    if (scored !== rows) throw new Error(`churn predict wrote ${scored} rows to ${file}, expected ${rows}`);
  }

  const median = {
    churn: medianOf(seconds.churn),
    python: medianOf(seconds.python),
    churnDefault: medianOf(seconds.churnDefault),
  };
  const results = {
    measuredAt: new Date().toISOString(),
    cpus: cpus().length,
    node: process.version,
    python: pythonVersions(python),
    loadAverageAtStart: loadAtStart,
    rows,
    fileMiB: round((await readFile(customers)).length / 2 ** 20, 1),
    repeats,
    /** Both sides' model shape, in `churn train --params` names. */
    shape: SHAPE,
    churn: {
      model: { ...oursModel, command: "churn train --model gbdt --no-ensemble --params <shape>" },
      seconds: seconds.churn.map((s) => round(s, 3)),
      medianSeconds: round(median.churn, 3),
      rowsPerSecond: Math.round(rows / median.churn),
    },
    pythonPipeline: {
      model: `scikit-learn ColumnTransformer one-hot + XGBoost hist, ${theirsFit.trees} trees, depth ${SHAPE.maxDepth}, learning rate ${SHAPE.learningRate} (default threads)`,
      xgboost: theirsFit.xgboost,
      seconds: seconds.python.map((s) => round(s, 3)),
      medianSeconds: round(median.python, 3),
      rowsPerSecond: Math.round(rows / median.python),
    },
    /** Python's median wall time over ours, same model shape: above 1, `churn predict` is the faster. */
    speedup: round(median.python / median.churn, 2),
    /** Context, not the comparison: `churn predict` with the model a default `churn train` returns. */
    defaultModel: {
      model: {
        ...defaultModel,
        command: `churn train${defaultBudget !== undefined ? ` --time-budget ${defaultBudget}` : ""}`,
      },
      seconds: seconds.churnDefault.map((s) => round(s, 3)),
      medianSeconds: round(median.churnDefault, 3),
      rowsPerSecond: Math.round(rows / median.churnDefault),
    },
  };
  console.log(JSON.stringify(results, null, 2));
  console.error(
    `churn predict ${median.churn.toFixed(2)} s (${results.churn.rowsPerSecond.toLocaleString("en-US")} rows/s) vs Python ${median.python.toFixed(2)} s (${results.pythonPipeline.rowsPerSecond.toLocaleString("en-US")} rows/s), both ${SHAPE.rounds} trees of depth ${SHAPE.maxDepth}: ${results.speedup}x`,
  );
  console.error(
    `context, not the comparison: churn predict with the default churn train model (${defaultModel.description}, ${defaultModel.trees} trees) ${median.churnDefault.toFixed(2)} s`,
  );
  await mkdir(path.join(repoRoot, "bench/results"), { recursive: true });
  await writeFile(path.join(repoRoot, "bench/results/predict.json"), `${JSON.stringify(results, null, 2)}\n`);
} finally {
  await rm(dir, { recursive: true, force: true });
}

/** What a trained model directory holds: family, members, and its trees counted in the explainer. */
async function describeModel(modelDir: string) {
  const manifest = manifestSchema.parse(
    JSON.parse(await readFile(path.join(modelDir, "manifest.json"), "utf8")),
  );
  const members = (manifest.lineage.params["members"] ?? []) as { weight: number; description: string }[];
  const explainerFile = path.join(modelDir, "explainer.json");
  const trees = existsSync(explainerFile)
    ? explainerPackageSchema.parse(JSON.parse(await readFile(explainerFile, "utf8"))).trees
    : [];
  return {
    family: manifest.family,
    description: members
      .map((m) => (members.length > 1 ? `${m.weight} × ${m.description}` : m.description))
      .join(" + "),
    trees: trees.length,
    maxDepth: Math.max(0, ...trees.map((t) => treeDepth(t))),
  };
}

/** Levels of splits from the root to the deepest leaf. */
function treeDepth(tree: ExplainerTree, node = 0): number {
  if (tree.feature[node] === -1) return 0;
  return 1 + Math.max(treeDepth(tree, tree.left[node]!), treeDepth(tree, tree.right[node]!));
}

/**
 * `count` Telco customers drawn with replacement (seeded), every raw column as the file writes it except
 * the target, which a file to score does not have; each id gets a suffix so ids stay unique.
 */
async function resampledTelco(count: number, seed: number): Promise<string> {
  const [header, ...records] = await parseCsvText(await readFile(telcoCsv, "utf8"));
  const keep = header!.cells.map((_, j) => j).filter((j) => header!.cells[j] !== TELCO.target);
  const id = header!.cells.indexOf(ID);
  const random = createRandom(seed);
  const lines = [keep.map((j) => quoteCsv(header!.cells[j]!)).join(",")];
  for (let k = 0; k < count; k++) {
    const cells = records[Math.floor(random() * records.length)]!.cells;
    lines.push(keep.map((j) => quoteCsv(j === id ? `${cells[j]}-${k}` : cells[j]!)).join(","));
  }
  return `${lines.join("\n")}\n`;
}

function pythonVersions(py: string): Record<string, string> {
  const script = `import sys, ${PYTHON_MODULES.join(", ")}; print(sys.version.split()[0], ${PYTHON_MODULES.map((m) => `${m}.__version__`).join(", ")})`;
  const [version, ...modules] = run(py, ["-c", script]).trim().split(" ");
  return { python: version!, ...Object.fromEntries(PYTHON_MODULES.map((m, i) => [m, modules[i]!])) };
}

function run(file: string, args: readonly string[]): string {
  const result = spawnSync(file, args, { cwd: repoRoot, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
  if (result.status !== 0) {
    throw new Error(`${[file, ...args].join(" ")} failed (exit ${result.status}):\n${result.stderr}`);
  }
  return result.stdout;
}

/** Wall time of a whole command, from spawning it to its exit. */
function timed(command: readonly string[]): number {
  const started = performance.now();
  run(command[0]!, command.slice(1));
  return (performance.now() - started) / 1000;
}

function medianOf(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function round(x: number, digits: number): number {
  return Number(x.toFixed(digits));
}
