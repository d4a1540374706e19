import { mkdir, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import { type ParseArgsOptionsConfig, parseArgs } from "node:util";
import { ChurnError } from "../../shared/src/errors.ts";
import { auditCommand } from "./audit.ts";
import { publishCommand } from "./publish.ts";
import { generateTelco, TELCO_COLUMNS, toCsv } from "./synthetic.ts";
import { DEFAULT_NAME, DEFAULT_SEED, DEFAULT_THRESHOLD, type TrainResult, train } from "./train.ts";

/** Where the CLI writes; injectable so commands can be run in-process by tests. */
export interface CliIo {
  out: (text: string) => void;
  err: (text: string) => void;
}

type Values = Record<string, string | boolean | undefined>;

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

const trainCommand: Command = {
  summary: "Train a churn model from a CSV and write model.onnx, manifest.json and metrics.json",
  usage: `churn train --data <csv> --target <column> --positive <value> --out <dir> [options]

  --data <csv>        training data with a header row
  --target <column>   binary target column, e.g. Churn
  --positive <value>  target value meaning "churned", e.g. Yes
  --out <dir>         output directory
  --split <json>      {"train":[...],"test":[...]} 0-based data-row indices (default: stratified 80/20)
  --seed <n>          random seed for the split (default ${DEFAULT_SEED})
  --drop <a,b>        columns to leave out (ID-like columns are dropped automatically)
  --name <name>       model name in the manifest (default "${DEFAULT_NAME}")
  --threshold <t>     decision threshold in [0,1] (default ${DEFAULT_THRESHOLD})
  --l2 <lambda>       L2 penalty strength (default 1, like scikit-learn's C=1)
  --json              print the result as JSON`,
  options: {
    data: { type: "string" },
    target: { type: "string" },
    positive: { type: "string" },
    out: { type: "string" },
    split: { type: "string" },
    seed: { type: "string" },
    drop: { type: "string" },
    name: { type: "string" },
    threshold: { type: "string" },
    l2: { type: "string" },
    json: { type: "boolean" },
  },
  async run(values, io) {
    const warnings: string[] = [];
    const result = await train({
      data: required(values, "data"),
      target: required(values, "target"),
      positive: required(values, "positive"),
      out: required(values, "out"),
      ...(values.split !== undefined ? { split: String(values.split) } : {}),
      ...(values.seed !== undefined ? { seed: integerFlag(values, "seed") } : {}),
      ...(values.drop !== undefined ? { drop: listFlag(String(values.drop)) } : {}),
      ...(values.name !== undefined ? { name: String(values.name) } : {}),
      ...(values.threshold !== undefined ? { threshold: numberFlag(values, "threshold") } : {}),
      ...(values.l2 !== undefined ? { l2: numberFlag(values, "l2") } : {}),
      onWarning: (w) => {
        warnings.push(w);
        if (!values.json) io.err(`warning: ${w}\n`);
      },
    });
    io.out(values.json ? `${JSON.stringify(jsonResult(result), null, 2)}\n` : summary(result));
    return 0;
  },
};

const synthCommand: Command = {
  summary: "Write synthetic customers with the IBM Telco churn schema to a CSV",
  usage: `churn synth --out <csv> [--rows n] [--seed s]

  --out <csv>   file to write
  --rows <n>    number of customers (default 7043, the size of the real data set)
  --seed <s>    random seed (default ${DEFAULT_SEED})`,
  options: {
    out: { type: "string" },
    rows: { type: "string" },
    seed: { type: "string" },
  },
  async run(values, io) {
    const out = required(values, "out");
    const rows = values.rows === undefined ? 7043 : integerFlag(values, "rows");
    if (rows < 1) throw new UsageError("--rows must be at least 1");
    const seed = values.seed === undefined ? DEFAULT_SEED : integerFlag(values, "seed");
    await mkdir(dirname(out), { recursive: true });
    await writeFile(out, toCsv(generateTelco(rows, seed), TELCO_COLUMNS));
    io.out(`wrote ${rows} synthetic customers to ${out}\n`);
    return 0;
  },
};

/** Subcommands by name. */
export const commands: Record<string, Command> = {
  train: trainCommand,
  synth: synthCommand,
  publish: publishCommand,
  audit: auditCommand,
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
    metrics: result.metrics,
    parity: result.parity,
    warnings: result.warnings,
    manifest: result.manifest,
  };
}

function summary(result: TrainResult): string {
  const m = result.metrics;
  return [
    `trained ${result.manifest.family} "${result.manifest.name}" on ${result.rows.train} rows, holdout ${result.rows.holdout} rows`,
    `  holdout ROC-AUC ${m.roc_auc.toFixed(4)}  log loss ${m.log_loss.toFixed(4)}  ECE ${m.ece.toFixed(4)}`,
    `  ONNX parity max diff ${result.parity.maxDiff.toExponential(2)}`,
    `  wrote ${result.outDir} (model.onnx, manifest.json, metrics.json)`,
    "",
  ].join("\n");
}
