import { execFile } from "node:child_process";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { ChurnError } from "../../shared/src/errors.ts";
import { sha256Hex } from "../../shared/src/hash.ts";
import { type Manifest, manifestSchema } from "../../shared/src/manifest.ts";
import { nowMs, toIso } from "../../shared/src/time.ts";
import { loadDataset } from "./dataset.ts";
import { batchFromDataset } from "./features.ts";
import { type HoldoutMetrics, holdoutMetrics } from "./metrics.ts";
import { LOGISTIC_DEFAULTS, type LogisticParams, logisticTrainer } from "./models/logistic.ts";
import { predictProbability } from "./models/model.ts";
import { IR_VERSION, OPSET } from "./onnx/graph.ts";
import { checkParity, type ParityReport } from "./parity.ts";
import { loadSplit, type Split, stratifiedSplit } from "./split.ts";

export interface TrainOptions {
  /** CSV file with a header row. */
  data: string;
  target: string;
  /** Target value that counts as churn (class 1). */
  positive: string;
  /** Output directory for model.onnx, manifest.json and metrics.json (created if needed). */
  out: string;
  /** JSON file `{"train": [...], "test": [...]}` of 0-based data-row indices; default: stratified 80/20. */
  split?: string;
  seed?: number;
  drop?: string[];
  name?: string;
  threshold?: number;
  riskBands?: { medium: number; high: number };
  /** L2 penalty strength (1 = scikit-learn's C=1). */
  l2?: number;
  maxCategories?: number;
  /** Receives warnings (e.g. dropped ID columns) as they happen. */
  onWarning?: (message: string) => void;
}

export interface TrainResult {
  outDir: string;
  files: { model: string; manifest: string; metrics: string };
  manifest: Manifest;
  metrics: HoldoutMetrics;
  parity: ParityReport;
  rows: { train: number; holdout: number };
  warnings: string[];
}

export const DEFAULT_SEED = 42;
export const DEFAULT_NAME = "churn";
export const DEFAULT_THRESHOLD = 0.5;
export const DEFAULT_RISK_BANDS = { medium: 0.3, high: 0.6 } as const;
export const HOLDOUT_FRACTION = 0.2;

const repoRoot = fileURLToPath(new URL("../../", import.meta.url));

/** Reads the CSV, splits, fits, exports to ONNX, checks ONNX/TS parity and writes the artefacts. */
export async function train(options: TrainOptions): Promise<TrainResult> {
  const seed = options.seed ?? DEFAULT_SEED;
  const name = options.name ?? DEFAULT_NAME;
  const threshold = options.threshold ?? DEFAULT_THRESHOLD;
  const riskBands = options.riskBands ?? { ...DEFAULT_RISK_BANDS };
  checkOptions({ seed, name, threshold, riskBands });
  const params: LogisticParams = {
    ...LOGISTIC_DEFAULTS,
    ...(options.l2 !== undefined ? { l2: options.l2 } : {}),
    ...(options.maxCategories !== undefined ? { maxCategories: options.maxCategories } : {}),
  };

  const bytes = await readInput(options.data);
  const dataset = await loadDataset([bytes], {
    target: options.target,
    positive: options.positive,
    drop: options.drop ?? [],
  });
  const warnings = [...dataset.warnings];
  for (const w of warnings) options.onWarning?.(w);

  const split: Split = options.split
    ? await loadSplit(options.split, dataset.rowCount)
    : stratifiedSplit(dataset.target.y, seed, HOLDOUT_FRACTION);
  checkBothClasses(dataset.target.y, split.train, "training");
  checkBothClasses(dataset.target.y, split.test, "holdout");

  const model = logisticTrainer.fit({ dataset, rows: split.train }, params);
  for (const f of model.features) {
    if (f.type === "categorical" && f.categories.length === 0) {
      throw new ChurnError(
        "INVALID_REQUEST",
        `Column "${f.name}" has no values in the training rows; drop it with --drop ${f.name}`,
      );
    }
  }
  const onnx = model.toOnnx();
  const holdout = batchFromDataset(dataset, split.test);
  const parity = await checkParity(model, onnx, holdout);

  const yTest = Uint8Array.from(split.test, (r) => dataset.target.y[r]!);
  const metrics = holdoutMetrics(yTest, predictProbability(model, holdout), threshold);
  const rows = { train: split.train.length, holdout: split.test.length };
  const gitCommit = await currentGitCommit();

  const manifest = manifestSchema.parse({
    schemaVersion: 1,
    name,
    family: model.family,
    createdAt: toIso(nowMs()),
    target: { column: dataset.target.column, positive: dataset.target.positive },
    features: model.features,
    outputs: {
      probability: { name: "probability" },
      contributions: { name: "contributions", baseMargin: model.baseMargin },
    },
    threshold,
    riskBands,
    onnx: { sha256: await sha256Hex(onnx), bytes: onnx.length, irVersion: IR_VERSION, opset: OPSET },
    metrics: { holdout: { ...metrics } },
    lineage: {
      dataFingerprint: await sha256Hex(bytes),
      trainerVersion: await trainerVersion(),
      params: {
        ...model.params,
        split: options.split ? "file" : `stratified ${1 - HOLDOUT_FRACTION}/${HOLDOUT_FRACTION}`,
        dropped: dataset.dropped.map((d) => d.column),
      },
      seed,
      ...(gitCommit ? { gitCommit } : {}),
      rows,
    },
  } satisfies Manifest);

  const outDir = resolve(options.out);
  await mkdir(outDir, { recursive: true });
  const files = {
    model: join(outDir, "model.onnx"),
    manifest: join(outDir, "manifest.json"),
    metrics: join(outDir, "metrics.json"),
  };
  await writeFile(files.model, onnx);
  await writeFile(files.manifest, `${JSON.stringify(manifest, null, 2)}\n`);
  await writeFile(
    files.metrics,
    `${JSON.stringify({ holdout: metrics, rows, parity: { maxDiff: parity.maxDiff } }, null, 2)}\n`,
  );
  return { outDir, files, manifest, metrics, parity, rows, warnings };
}

function checkOptions(o: {
  seed: number;
  name: string;
  threshold: number;
  riskBands: { medium: number; high: number };
}): void {
  if (!Number.isSafeInteger(o.seed))
    throw new ChurnError("INVALID_REQUEST", `Seed must be an integer, got ${o.seed}`);
  const nameCheck = manifestSchema.shape.name.safeParse(o.name);
  if (!nameCheck.success) {
    throw new ChurnError(
      "INVALID_REQUEST",
      `Model name "${o.name}" is invalid: use 1-64 lowercase letters, digits and -, starting with a letter or digit`,
    );
  }
  if (!(o.threshold >= 0 && o.threshold <= 1)) {
    throw new ChurnError("INVALID_REQUEST", `Threshold must be between 0 and 1, got ${o.threshold}`);
  }
  const { medium, high } = o.riskBands;
  if (!(medium >= 0 && medium <= high && high <= 1)) {
    throw new ChurnError(
      "INVALID_REQUEST",
      `Risk bands need 0 <= medium <= high <= 1, got ${medium} / ${high}`,
    );
  }
}

async function readInput(path: string): Promise<Uint8Array> {
  try {
    return await readFile(path);
  } catch (cause) {
    throw new ChurnError("INVALID_REQUEST", `Cannot read data file ${path}: ${(cause as Error).message}`, {
      cause,
    });
  }
}

function checkBothClasses(y: Uint8Array, rows: readonly number[], part: string): void {
  let positives = 0;
  for (const r of rows) positives += y[r]!;
  if (positives === 0 || positives === rows.length) {
    throw new ChurnError(
      "INVALID_REQUEST",
      `The ${part} rows contain only one target class (${positives} of ${rows.length} positive); both are needed`,
    );
  }
}

async function trainerVersion(): Promise<string> {
  const pkg = JSON.parse(await readFile(join(repoRoot, "package.json"), "utf8")) as { version?: string };
  return pkg.version ?? "0.0.0";
}

/** Commit of the trainer's source tree, when it is a git checkout with at least one commit. */
async function currentGitCommit(): Promise<string | undefined> {
  try {
    const { stdout } = await promisify(execFile)("git", ["rev-parse", "HEAD"], {
      cwd: repoRoot,
      timeout: 5000,
    });
    const commit = stdout.trim();
    return /^[0-9a-f]{40}$/.test(commit) ? commit : undefined;
  } catch {
    return undefined;
  }
}
