import { mkdir, readFile, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import { type ParseArgsOptionsConfig, parseArgs } from "node:util";
import { ChurnError } from "#shared/errors.ts";
import { auditCommand } from "./audit.ts";
import type { CalibrationChoice } from "./calibration.ts";
import type { DecimalMark } from "./cells.ts";
import { SEPARATORS, type Separator } from "./csv.ts";
import type { ColumnType } from "./dataset.ts";
import { DECISION_DEFAULTS } from "./decision.ts";
import { keysCommand } from "./keys.ts";
import { manifestCommand } from "./manifest-command.ts";
import { DEFAULT_PREDICT_BATCH, type PredictResult, predict } from "./predict.ts";
import { publishCommand } from "./publish.ts";
import { LEAKAGE_STOP_AUC } from "./quality.ts";
import { generateTelco, SCENARIOS, type Scenario, TELCO_COLUMNS, toCsv } from "./synthetic.ts";
import type { TableOptions } from "./table.ts";
import { TEXT_ENCODINGS, type TextEncodingName } from "./text-decoding.ts";
import {
  DEFAULT_NAME,
  DEFAULT_SEED,
  DEFAULT_TIME_BUDGET,
  type ModelChoice,
  type TrainProgress,
  type TrainResult,
  train,
} from "./train.ts";
import { workerCommand } from "./worker/command.ts";

/** Where the CLI writes; injectable so commands can be run in-process by tests. */
export interface CliIo {
  out: (text: string) => void;
  err: (text: string) => void;
  /** Whether `err` is an interactive terminal: progress is then drawn on one updating line. */
  errIsTty?: boolean;
}

type Values = Record<string, string | boolean | string[] | undefined>;

export interface Command {
  summary: string;
  usage: string;
  options: ParseArgsOptionsConfig;
  /** Exact number of positional arguments the command takes (default 0). */
  positionals?: number;
  /** Resolves to the process exit code. */
  run: (values: Values, io: CliIo, positionals?: string[]) => Promise<number>;
}

/** Wrong or missing flags: reported with the command's usage, exit code 2. */
export class UsageError extends Error {
  override name = "UsageError";
}

/** How a data file is read: the same flags for training and scoring. */
const TABLE_FLAGS = {
  sep: { type: "string" },
  encoding: { type: "string" },
  decimal: { type: "string" },
  "na-values": { type: "string" },
} as const satisfies ParseArgsOptionsConfig;

const trainCommand: Command = {
  summary: "Train a churn model (AutoML) from a CSV and write the model, manifest, metrics, runs and report",
  usage: `churn train --data <csv> --target <column> --positive <value> --out <dir> [options]

  --data <csv>               training data with a header row
  --target <column>          binary target column, e.g. Churn
  --positive <value>         target value meaning "churned", e.g. Yes
  --out <dir>                output directory: model.onnx, manifest.json, metrics.json, runs.json,
                             report.html and, for tree and MLP models, explainer.json
  --model <family>           auto (default: search logistic regression, GBDT, random forest and MLP,
                             maybe ensemble them), logistic_regression, gbdt, random_forest or mlp
  --time-budget <seconds>    wall-clock budget of the whole run (default ${DEFAULT_TIME_BUDGET})
  --folds <k>                cross-validation folds (default 5; 3 under a 20 s budget or from 100,000 rows)
  --calibration <method>     auto (default: Platt, isotonic if clearly better), platt, isotonic or none
  --no-ensemble              never ensemble, keep the best single model
  --split <json>             {"train":[...],"test":[...]} 0-based data-row indices (default: stratified 80/20)
  --seed <n>                 random seed for the split, folds and search (default ${DEFAULT_SEED})
  --drop <a,b>               columns to leave out, comma-separated or repeated (ID-like and free-text
                             columns are dropped automatically); names as the header writes them
  --schema <json|file>       column types overriding inference, e.g. {"SeniorCitizen":"categorical"}
  --sep <char>               field separator: , ; tab | (default: detected from the file)
  --encoding <name>          utf-8 (default; a BOM selects UTF-16), latin1 (Windows-1252), utf-16le
  --decimal <mark>           . or , (default: detected; a comma only where the separator is not)
  --na-values <a,b>          more cells to read as missing, beyond blanks and NA N/A NaN null NULL None ? - #N/A
  --drop-missing-target      leave out rows whose target is missing instead of stopping
  --allow-leaky              train even when a column alone predicts the target (ROC-AUC >= ${LEAKAGE_STOP_AUC})
  --value-per-customer <v>   value of keeping a churner (default ${DECISION_DEFAULTS.valuePerCustomer})
  --offer-cost <c>           cost of one retention offer (default ${DECISION_DEFAULTS.offerCost})
  --offer-acceptance <a>     share of contacted churners the offer keeps (default ${DECISION_DEFAULTS.offerAcceptance})
  --threshold <t>            fixed decision threshold in [0,1] instead of the profit-optimal one
  --name <name>              model name in the manifest (default "${DEFAULT_NAME}")
  --l2 <lambda>              fix the logistic L2 penalty (1 = scikit-learn's C=1) instead of searching it
  --json                     JSON progress lines on stderr and the result as JSON on stdout`,
  options: {
    data: { type: "string" },
    target: { type: "string" },
    positive: { type: "string" },
    out: { type: "string" },
    model: { type: "string" },
    "time-budget": { type: "string" },
    folds: { type: "string" },
    calibration: { type: "string" },
    "no-ensemble": { type: "boolean" },
    split: { type: "string" },
    seed: { type: "string" },
    drop: { type: "string", multiple: true },
    schema: { type: "string" },
    ...TABLE_FLAGS,
    "drop-missing-target": { type: "boolean" },
    "allow-leaky": { type: "boolean" },
    "value-per-customer": { type: "string" },
    "offer-cost": { type: "string" },
    "offer-acceptance": { type: "string" },
    name: { type: "string" },
    threshold: { type: "string" },
    l2: { type: "string" },
    json: { type: "boolean" },
  },
  async run(values, io) {
    const json = values.json === true;
    const model =
      values.model === undefined
        ? undefined
        : choice(values, "model", ["auto", "logistic_regression", "gbdt", "random_forest", "mlp"]);
    const calibration =
      values.calibration === undefined
        ? undefined
        : choice(values, "calibration", ["auto", "platt", "isotonic", "none"]);
    const decision = {
      ...(values["value-per-customer"] !== undefined
        ? { valuePerCustomer: numberFlag(values, "value-per-customer") }
        : {}),
      ...(values["offer-cost"] !== undefined ? { offerCost: numberFlag(values, "offer-cost") } : {}),
      ...(values["offer-acceptance"] !== undefined
        ? { offerAcceptance: numberFlag(values, "offer-acceptance") }
        : {}),
    };
    const timeBudget = values["time-budget"] !== undefined ? numberFlag(values, "time-budget") : undefined;
    const progress = progressPrinter(io, json, timeBudget ?? DEFAULT_TIME_BUDGET);
    let result: TrainResult;
    try {
      result = await train({
        data: required(values, "data"),
        target: required(values, "target"),
        positive: required(values, "positive"),
        out: required(values, "out"),
        ...(model !== undefined ? { model: model as ModelChoice } : {}),
        ...(timeBudget !== undefined ? { timeBudget } : {}),
        ...(values.folds !== undefined ? { folds: integerFlag(values, "folds") } : {}),
        ...(calibration !== undefined ? { calibration: calibration as CalibrationChoice } : {}),
        ...(values["no-ensemble"] ? { ensemble: false } : {}),
        ...(values.split !== undefined ? { split: String(values.split) } : {}),
        ...(values.seed !== undefined ? { seed: integerFlag(values, "seed") } : {}),
        ...(values.drop !== undefined ? { drop: dropFlag(values.drop) } : {}),
        ...tableFlags(values),
        ...(values["drop-missing-target"] ? { dropMissingTarget: true } : {}),
        ...(values["allow-leaky"] ? { allowLeaky: true } : {}),
        ...(values.schema !== undefined ? { schema: await schemaFlag(String(values.schema)) } : {}),
        ...(Object.keys(decision).length > 0 ? { decision } : {}),
        ...(values.name !== undefined ? { name: String(values.name) } : {}),
        ...(values.threshold !== undefined ? { threshold: numberFlag(values, "threshold") } : {}),
        ...(values.l2 !== undefined ? { l2: numberFlag(values, "l2") } : {}),
        onWarning: (w) => {
          progress.clear();
          io.err(json ? `${JSON.stringify({ event: "warning", message: w })}\n` : `warning: ${w}\n`);
        },
        onProgress: progress.update,
      });
    } finally {
      progress.clear();
    }
    io.out(json ? `${JSON.stringify(jsonResult(result), null, 2)}\n` : summary(result));
    return 0;
  },
};

const predictCommand: Command = {
  summary: "Score a CSV of any size with a trained model; writes id, probability, contact and risk band",
  usage: `churn predict --model <dir> --data <csv> --out <csv> [options]

  --model <dir>    directory with model.onnx and manifest.json (as written by churn train)
  --data <csv>     customers to score, with a header row holding every feature column
  --out <csv>      output: id, probability, contact, risk_band
  --id <column>    column copied as the id (default: the first column)
  --batch <n>      rows per onnxruntime call (default ${DEFAULT_PREDICT_BATCH})
  --sep, --encoding, --decimal, --na-values   read the file as churn train does (default: detected)
  --json           print the result as JSON`,
  options: {
    model: { type: "string" },
    data: { type: "string" },
    out: { type: "string" },
    id: { type: "string" },
    batch: { type: "string" },
    ...TABLE_FLAGS,
    json: { type: "boolean" },
  },
  async run(values, io) {
    const json = values.json === true;
    const progress = progressPrinter(io, json);
    let result: PredictResult;
    try {
      result = await predict({
        model: required(values, "model"),
        data: required(values, "data"),
        out: required(values, "out"),
        ...(values.id !== undefined ? { idColumn: String(values.id) } : {}),
        ...(values.batch !== undefined ? { batchSize: integerFlag(values, "batch") } : {}),
        ...tableFlags(values),
        onProgress: (rows, elapsedMs) =>
          progress.update({
            phase: "predict",
            message: `${rows.toLocaleString("en-US")} rows scored`,
            elapsedMs,
          }),
      });
    } finally {
      progress.clear();
    }
    io.out(
      json
        ? `${JSON.stringify(result, null, 2)}\n`
        : `scored ${result.rows} rows in ${result.seconds.toFixed(2)} s (${Math.round(result.rowsPerSecond).toLocaleString("en-US")} rows/s); ${result.contacts} to contact; wrote ${result.out}\n`,
    );
    return 0;
  },
};

type ProgressEvent = TrainProgress | { phase: "predict"; message: string; elapsedMs: number };

/**
 * Progress for long work: on a terminal, one line redrawn in place; with --json, one JSON object per
 * event on stderr; otherwise (logs, pipes) nothing, so output stays clean.
 */
function progressPrinter(io: CliIo, json: boolean, budgetSeconds?: number) {
  let drawn = false;
  return {
    update(event: ProgressEvent) {
      if (json) {
        io.err(`${JSON.stringify({ event: "progress", ...event })}\n`);
        return;
      }
      if (!io.errIsTty) return;
      const budget = budgetSeconds === undefined ? "" : ` of ${budgetSeconds}s`;
      const line = `[${(event.elapsedMs / 1000).toFixed(1)}s${budget}] ${event.phase}: ${event.message}`;
      const width = Math.max(process.stderr.columns ?? 0, 80);
      io.err(`\r\x1b[2K${line.length > width - 1 ? `${line.slice(0, width - 2)}…` : line}`);
      drawn = true;
    },
    clear() {
      if (drawn) io.err("\r\x1b[2K");
      drawn = false;
    },
  };
}

const synthCommand: Command = {
  summary: "Write synthetic customers with the IBM Telco churn schema to a CSV",
  usage: `churn synth --out <csv> [--rows n] [--seed s] [--scenario <name>]

  --out <csv>         file to write
  --rows <n>          number of customers (default 7043, the size of the real data set)
  --seed <s>          random seed (default ${DEFAULT_SEED})
  --scenario <name>   drifted data: ${SCENARIOS.join(", ")} (see docs/trainer.md)`,
  options: {
    out: { type: "string" },
    rows: { type: "string" },
    seed: { type: "string" },
    scenario: { type: "string" },
  },
  async run(values, io) {
    const out = required(values, "out");
    const rows = values.rows === undefined ? 7043 : integerFlag(values, "rows");
    if (rows < 1) throw new UsageError("--rows must be at least 1");
    const seed = values.seed === undefined ? DEFAULT_SEED : integerFlag(values, "seed");
    await mkdir(dirname(out), { recursive: true });
    const scenario =
      values.scenario === undefined ? undefined : (choice(values, "scenario", SCENARIOS) as Scenario);
    await writeFile(out, toCsv(generateTelco(rows, seed, scenario), TELCO_COLUMNS));
    io.out(`wrote ${rows} synthetic customers${scenario ? ` (${scenario})` : ""} to ${out}\n`);
    return 0;
  },
};

/** Subcommands by name. */
export const commands: Record<string, Command> = {
  train: trainCommand,
  predict: predictCommand,
  synth: synthCommand,
  manifest: manifestCommand,
  publish: publishCommand,
  audit: auditCommand,
  keys: keysCommand,
  worker: workerCommand,
};

export function helpText(): string {
  const width = Math.max(...Object.keys(commands).map((c) => c.length));
  const list = Object.entries(commands)
    .map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`)
    .join("\n");
  return `Usage: churn <command> [options]\n\nCommands:\n${list}\n\nRun "churn <command> --help" for a command's options.\n`;
}

/** Runs one CLI invocation and returns its exit code: 0 ok, 1 failure (ChurnError), 2 usage error. */
export async function main(argv: readonly string[], io: CliIo = processIo): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined) {
    io.err(helpText());
    return 2;
  }
  if (name === "--help" || name === "-h" || name === "help") {
    io.out(helpText());
    return 0;
  }
  const command = Object.hasOwn(commands, name) ? commands[name] : undefined;
  if (!command) {
    io.err(`error: unknown command "${name}"\n\n${helpText()}`);
    return 2;
  }
  try {
    if (rest.includes("--help") || rest.includes("-h")) {
      io.out(`Usage: ${command.usage}\n`);
      return 0;
    }
    const { values, positionals } = parseFlags(command, rest);
    return await command.run(values, io, positionals);
  } catch (error) {
    if (error instanceof UsageError) {
      io.err(`error: ${error.message}\n\nUsage: ${command.usage}\n`);
      return 2;
    }
    if (error instanceof ChurnError) {
      io.err(`error [${error.code}]: ${error.message}\n`);
      return 1;
    }
    io.err(`error [INTERNAL]: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    return 1;
  }
}

/** Entry point for bin/churn.js. */
export async function runCli(): Promise<void> {
  process.exitCode = await main(process.argv.slice(2));
}

const processIo: CliIo = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
  errIsTty: process.stderr.isTTY === true,
};

function parseFlags(command: Command, args: string[]): { values: Values; positionals: string[] } {
  const expected = command.positionals ?? 0;
  let parsed: { values: Values; positionals: string[] };
  try {
    parsed = parseArgs({ args, options: command.options, strict: true, allowPositionals: expected > 0 }) as {
      values: Values;
      positionals: string[];
    };
  } catch (error) {
    // node:util reports unknown flags, missing values and stray arguments as ERR_PARSE_ARGS_* TypeErrors.
    throw new UsageError((error as Error).message);
  }
  if (parsed.positionals.length !== expected) {
    throw new UsageError(`expected ${expected} argument(s), got ${parsed.positionals.length}`);
  }
  return parsed;
}

function required(values: Values, flag: string): string {
  const value = values[flag];
  if (typeof value !== "string" || value === "") throw new UsageError(`missing required flag --${flag}`);
  return value;
}

function numberFlag(values: Values, flag: string): number {
  const text = String(values[flag]);
  const value = Number(text);
  if (text.trim() === "" || !Number.isFinite(value))
    throw new UsageError(`--${flag} must be a number, got "${text}"`);
  return value;
}

function integerFlag(values: Values, flag: string): number {
  const value = numberFlag(values, flag);
  if (!Number.isSafeInteger(value))
    throw new UsageError(`--${flag} must be an integer, got "${values[flag]}"`);
  return value;
}

function choice(values: Values, flag: string, allowed: readonly string[]): string {
  const value = String(values[flag]);
  if (!allowed.includes(value))
    throw new UsageError(`--${flag} must be one of ${allowed.join(", ")}, got "${value}"`);
  return value;
}

/** Inline JSON (starting with "{") or a JSON file: {"column": "numeric" | "categorical"}. */
async function schemaFlag(text: string): Promise<Record<string, ColumnType>> {
  let source = text;
  if (!text.trim().startsWith("{")) {
    try {
      source = await readFile(text, "utf8");
    } catch (cause) {
      throw new ChurnError(
        "INVALID_REQUEST",
        `Cannot read schema file ${text}: ${(cause as Error).message}`,
        { cause },
      );
    }
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(source);
  } catch (cause) {
    throw new ChurnError("INVALID_REQUEST", `Schema is not valid JSON: ${(cause as Error).message}`, {
      cause,
    });
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new ChurnError(
      "INVALID_REQUEST",
      'Schema must be a JSON object such as {"SeniorCitizen": "categorical"}',
    );
  }
  return parsed as Record<string, ColumnType>;
}

const SEPARATOR_WORDS: Record<string, Separator> = {
  tab: "\t",
  "\\t": "\t",
  comma: ",",
  semicolon: ";",
  pipe: "|",
};

function tableFlags(values: Values): TableOptions {
  const out: TableOptions = {};
  if (values.sep !== undefined) {
    const text = String(values.sep);
    const sep = SEPARATOR_WORDS[text] ?? text;
    if (!(SEPARATORS as readonly string[]).includes(sep))
      throw new UsageError(`--sep must be one of , ; tab | (got ${JSON.stringify(text)})`);
    out.separator = sep as Separator;
  }
  if (values.encoding !== undefined) {
    const text = String(values.encoding)
      .toLowerCase()
      .replace(/^utf8$/, "utf-8");
    const encoding = ["iso-8859-1", "windows-1252", "cp1252"].includes(text) ? "latin1" : text;
    if (!(TEXT_ENCODINGS as readonly string[]).includes(encoding))
      throw new UsageError(
        `--encoding must be one of ${TEXT_ENCODINGS.join(", ")} (got ${JSON.stringify(values.encoding)})`,
      );
    out.encoding = encoding as TextEncodingName;
  }
  if (values.decimal !== undefined) out.decimal = choice(values, "decimal", [".", ","]) as DecimalMark;
  if (values["na-values"] !== undefined) out.naValues = listFlag(String(values["na-values"]));
  return out;
}

/** `--drop` may be repeated; each value is a header, or several separated by commas (see DatasetOptions). */
function dropFlag(value: Values[string]): string[] {
  return Array.isArray(value) ? value : [String(value)];
}

function listFlag(text: string): string[] {
  return text
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
}

function jsonResult(result: TrainResult) {
  return {
    outDir: result.outDir,
    files: result.files,
    rows: result.rows,
    seconds: result.seconds,
    metrics: result.metrics,
    cv: result.cv,
    threshold: result.manifest.threshold,
    parity: result.parity,
    warnings: result.warnings,
    data: result.dataQuality.reading,
    dropped: result.dataQuality.dropped,
    runs: result.runs.length,
    manifest: result.manifest,
  };
}

function summary(result: TrainResult): string {
  const m = result.metrics;
  const members =
    (result.manifest.lineage.params["members"] as { weight: number; description: string }[]) ?? [];
  const files = Object.values(result.files).map((f) => f.slice(result.outDir.length + 1));
  return [
    `trained ${result.manifest.family} "${result.manifest.name}" on ${result.rows.train} rows in ${result.seconds.toFixed(1)} s (${result.runs.length} AutoML runs), holdout ${result.rows.holdout} rows`,
    ...members.map((x) => `  ${members.length > 1 ? `${x.weight} × ` : ""}${x.description}`),
    `  calibration ${result.manifest.calibration?.method}; threshold ${result.manifest.threshold.toFixed(2)} (profit-optimal for value ${result.decision.valuePerCustomer}, cost ${result.decision.offerCost}, acceptance ${result.decision.offerAcceptance})`,
    `  CV      ROC-AUC ${fmt(result.cv["roc_auc"])}  log loss ${fmt(result.cv["log_loss"])}  ECE ${fmt(result.cv["ece"])}`,
    `  holdout ROC-AUC ${m.roc_auc.toFixed(4)}  log loss ${m.log_loss.toFixed(4)}  ECE ${m.ece.toFixed(4)} (perfect calibration: ≈${fmt(m["ece_noise_floor"])})  PR-AUC ${m.pr_auc.toFixed(4)}`,
    `  ONNX parity max diff ${result.parity.maxDiff.toExponential(2)}`,
    `  wrote ${result.outDir} (${files.join(", ")})`,
    "",
  ].join("\n");
}

function fmt(value: number | undefined): string {
  return value === undefined ? "–" : value.toFixed(4);
}
