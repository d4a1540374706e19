import { readFile } from "node:fs/promises";
import { type ParseArgsOptionsConfig, parseArgs } from "node:util";
import { ChurnError } from "#shared/errors.ts";
import type { DecimalMark } from "../data/cells.ts";
import { SEPARATORS, type Separator } from "../data/csv.ts";
import type { ColumnType } from "../data/dataset.ts";
import type { TableOptions } from "../data/table.ts";
import { TEXT_ENCODINGS, type TextEncodingName } from "../data/text-decoding.ts";

/** Where the CLI writes; injectable so commands can be run in-process by tests. */
export interface CliIo {
  out: (text: string) => void;
  err: (text: string) => void;
  /** Whether `err` is an interactive terminal: progress is then drawn on one updating line. */
  errIsTty?: boolean;
}

export type Values = Record<string, string | boolean | string[] | undefined>;

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
export const TABLE_FLAGS = {
  sep: { type: "string" },
  encoding: { type: "string" },
  decimal: { type: "string" },
  "na-values": { type: "string" },
} as const satisfies ParseArgsOptionsConfig;

export function parseFlags(command: Command, args: string[]): { values: Values; positionals: string[] } {
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

export function required(values: Values, flag: string): string {
  const value = values[flag];
  if (typeof value !== "string" || value === "") throw new UsageError(`missing required flag --${flag}`);
  return value;
}

export function numberFlag(values: Values, flag: string): number {
  const text = String(values[flag]);
  const value = Number(text);
  if (text.trim() === "" || !Number.isFinite(value))
    throw new UsageError(`--${flag} must be a number, got "${text}"`);
  return value;
}

export function integerFlag(values: Values, flag: string): number {
  const value = numberFlag(values, flag);
  if (!Number.isSafeInteger(value))
    throw new UsageError(`--${flag} must be an integer, got "${values[flag]}"`);
  return value;
}

export function choice(values: Values, flag: string, allowed: readonly string[]): string {
  const value = String(values[flag]);
  if (!allowed.includes(value))
    throw new UsageError(`--${flag} must be one of ${allowed.join(", ")}, got "${value}"`);
  return value;
}

/** Inline JSON (starting with "{") or a JSON file: {"column": "numeric" | "categorical"}. */
export async function schemaFlag(text: string): Promise<Record<string, ColumnType>> {
  const parsed = await jsonFlag(text, "Schema");
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new ChurnError(
      "INVALID_REQUEST",
      'Schema must be a JSON object such as {"SeniorCitizen": "categorical"}',
    );
  }
  return parsed as Record<string, ColumnType>;
}

/**
 * A flag taking a JSON object inline (the text starts with "{") or the path of a JSON file; `what` names
 * it in errors. The value is returned unchecked: its caller validates the shape.
 */
export async function jsonFlag(text: string, what: string): Promise<unknown> {
  let source = text;
  if (!text.trim().startsWith("{")) {
    try {
      source = await readFile(text, "utf8");
    } catch (cause) {
      throw new ChurnError(
        "INVALID_REQUEST",
        `Cannot read ${what.toLowerCase()} file ${text}: ${(cause as Error).message}`,
        { cause },
      );
    }
  }
  try {
    return JSON.parse(source);
  } catch (cause) {
    throw new ChurnError("INVALID_REQUEST", `${what} is not valid JSON: ${(cause as Error).message}`, {
      cause,
    });
  }
}

const SEPARATOR_WORDS: Record<string, Separator> = {
  tab: "\t",
  "\\t": "\t",
  comma: ",",
  semicolon: ";",
  pipe: "|",
};

export function tableFlags(values: Values): TableOptions {
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
export function dropFlag(value: Values[string]): string[] {
  return Array.isArray(value) ? value : [String(value)];
}

export function listFlag(text: string): string[] {
  return text
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
}
