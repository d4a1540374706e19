import { ChurnError } from "../../shared/src/errors.ts";
import { featureNameSchema } from "../../shared/src/manifest.ts";
import { type CsvSource, readCsv } from "./csv.ts";

/** Numeric feature column; NaN marks a missing (blank) cell. */
export interface NumericColumn {
  kind: "numeric";
  name: string;
  values: Float64Array;
  missing: number;
}

/** Categorical feature column of trimmed strings; "" marks a missing (blank) cell. */
export interface CategoricalColumn {
  kind: "categorical";
  name: string;
  values: string[];
  missing: number;
}

export type Column = NumericColumn | CategoricalColumn;

export interface BinaryTarget {
  column: string;
  positive: string;
  negative: string;
  /** 1 for the positive class, 0 otherwise, one entry per data row. */
  y: Uint8Array;
}

export interface Dataset {
  /** Feature columns in CSV order (target and dropped columns removed). */
  features: Column[];
  target: BinaryTarget;
  rowCount: number;
  /** 1-based CSV line each data row starts on, for error messages. */
  lines: number[];
  dropped: { column: string; reason: string }[];
  warnings: string[];
}

export type ColumnType = "numeric" | "categorical";

export interface DatasetOptions {
  target: string;
  positive: string;
  drop?: readonly string[];
  /**
   * Column types that override inference. A numeric column's non-numeric cells are then an error naming
   * the row (beyond the usual tolerance); a categorical one keeps numbers as text. Named columns are never
   * dropped automatically as ID-like or high-cardinality.
   */
  schema?: Readonly<Record<string, ColumnType>>;
  /**
   * Share of non-blank cells that may be non-numeric text in an otherwise numeric column; those cells
   * become missing. Beyond it (while numbers are still the majority) the column is rejected as dirty.
   */
  nonNumericTolerance?: number;
  /** Columns unique on every row look like identifiers; only judged from this many rows. */
  idColumnMinRows?: number;
  /**
   * Categorical columns with more distinct values than this, which are also more than a tenth of the
   * rows (surnames, e-mail addresses, free text), are dropped: one-hot encoding cannot generalise them.
   */
  maxCardinality?: number;
}

const DEFAULT_TOLERANCE = 0.01;
const DEFAULT_ID_MIN_ROWS = 20;
export const DEFAULT_MAX_CARDINALITY = 100;
const NUMBER_PATTERN = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

/** Parses a decimal number; blank or non-numeric text gives NaN. Hex, "Infinity" etc. are not numbers here. */
export function parseNumber(text: string): number {
  const trimmed = text.trim();
  if (!NUMBER_PATTERN.test(trimmed)) return Number.NaN;
  const value = Number(trimmed);
  return Number.isFinite(value) ? value : Number.NaN;
}

/** Streams a CSV into a typed, columnar dataset with a binary target. */
export async function loadDataset(source: CsvSource, options: DatasetOptions): Promise<Dataset> {
  let header: string[] | undefined;
  let raw: string[][] = [];
  const lines: number[] = [];
  for await (const record of readCsv(source)) {
    if (!header) {
      header = record.cells.map((c) => c.trim());
      raw = header.map(() => []);
      continue;
    }
    for (let c = 0; c < record.cells.length; c++) raw[c]!.push(record.cells[c]!);
    lines.push(record.line);
  }
  return buildDataset(header ?? [], raw, lines, options);
}

/** Builds the dataset from raw string columns (`columns[c][row]`), inferring each column's type. */
export function buildDataset(
  header: string[],
  columns: string[][],
  lines: number[],
  options: DatasetOptions,
): Dataset {
  checkHeader(header);
  const rowCount = lines.length;
  const targetIndex = header.indexOf(options.target);
  if (targetIndex < 0) {
    throw new ChurnError(
      "INVALID_REQUEST",
      `Target column "${options.target}" not found; available columns: ${header.join(", ")}`,
    );
  }
  const drop = new Set(options.drop ?? []);
  for (const name of drop) {
    if (!header.includes(name)) {
      throw new ChurnError(
        "INVALID_REQUEST",
        `Cannot drop column "${name}": not in the CSV; available columns: ${header.join(", ")}`,
      );
    }
    if (name === options.target) {
      throw new ChurnError("INVALID_REQUEST", `Cannot drop the target column "${name}"`);
    }
  }
  if (rowCount === 0) throw new ChurnError("INVALID_REQUEST", "CSV has a header but no data rows");
  const schema = checkSchema(options.schema ?? {}, header, options.target);

  const target = readTarget(options.target, options.positive, columns[targetIndex]!, lines);
  const warnings: string[] = [];
  const dropped: Dataset["dropped"] = [];
  const features: Column[] = [];
  const tolerance = options.nonNumericTolerance ?? DEFAULT_TOLERANCE;
  const idMinRows = options.idColumnMinRows ?? DEFAULT_ID_MIN_ROWS;
  const maxCardinality = options.maxCardinality ?? DEFAULT_MAX_CARDINALITY;

  header.forEach((name, c) => {
    if (c === targetIndex) return;
    if (drop.has(name)) {
      dropped.push({ column: name, reason: "dropped by request" });
      return;
    }
    const typed = schema.get(name);
    const column = inferColumn(name, columns[c]!, lines, tolerance, warnings, typed);
    if (!column) {
      dropped.push({ column: name, reason: "every cell is blank" });
      warnings.push(`Dropped column "${name}": every cell is blank`);
      return;
    }
    if (!typed && rowCount >= idMinRows && looksLikeId(column)) {
      dropped.push({ column: name, reason: "unique on every row (an identifier)" });
      warnings.push(`Dropped column "${name}": its value is unique on every row, so it looks like an ID`);
      return;
    }
    const distinct = column.kind === "categorical" ? distinctCount(column) : 0;
    if (!typed && distinct > maxCardinality && distinct > 0.1 * (rowCount - column.missing)) {
      dropped.push({ column: name, reason: `high cardinality (${distinct} distinct values)` });
      warnings.push(
        `Dropped column "${name}": ${distinct} distinct values in ${rowCount} rows is too many to learn from; type it with --schema to keep it`,
      );
      return;
    }
    features.push(column);
  });

  if (features.length === 0) throw new ChurnError("INVALID_REQUEST", "No feature columns left to train on");
  checkFeatureNames(features.map((f) => f.name));
  return { features, target, rowCount, lines, dropped, warnings };
}

function checkHeader(header: string[]): void {
  if (header.length === 0)
    throw new ChurnError("INVALID_REQUEST", "CSV input is empty: expected a header row");
  const seen = new Set<string>();
  for (const name of header) {
    if (seen.has(name)) throw new ChurnError("INVALID_REQUEST", `CSV header repeats the column "${name}"`);
    seen.add(name);
  }
}

function readTarget(column: string, positive: string, cells: string[], lines: number[]): BinaryTarget {
  const values = cells.map((c) => c.trim());
  const distinct = new Set<string>();
  values.forEach((v, row) => {
    if (v === "") {
      throw new ChurnError(
        "INVALID_REQUEST",
        `Target "${column}" is blank in data row ${row} (CSV line ${lines[row]}); remove or label that row`,
      );
    }
    distinct.add(v);
  });
  const labels = [...distinct].sort();
  if (labels.length !== 2) {
    const shown = labels.slice(0, 10).map((l) => JSON.stringify(l));
    const more = labels.length > 10 ? ` and ${labels.length - 10} more` : "";
    throw new ChurnError(
      "INVALID_REQUEST",
      `Target "${column}" must have exactly 2 distinct values for binary churn prediction, found ${labels.length}: ${shown.join(", ")}${more}`,
    );
  }
  if (!distinct.has(positive)) {
    throw new ChurnError(
      "INVALID_REQUEST",
      `Positive label "${positive}" is not a value of target "${column}"; its values are ${labels.map((l) => JSON.stringify(l)).join(" and ")}`,
    );
  }
  const negative = labels[0] === positive ? labels[1]! : labels[0]!;
  const y = new Uint8Array(values.length);
  values.forEach((v, i) => {
    y[i] = v === positive ? 1 : 0;
  });
  return { column, positive, negative, y };
}

function checkSchema(
  schema: Readonly<Record<string, ColumnType>>,
  header: readonly string[],
  target: string,
): Map<string, ColumnType> {
  const out = new Map<string, ColumnType>();
  for (const [name, type] of Object.entries(schema)) {
    if (!header.includes(name)) {
      throw new ChurnError(
        "INVALID_REQUEST",
        `Schema names column "${name}", which is not in the CSV; available columns: ${header.join(", ")}`,
      );
    }
    if (type !== "numeric" && type !== "categorical") {
      throw new ChurnError(
        "INVALID_REQUEST",
        `Schema type of column "${name}" must be "numeric" or "categorical", got ${JSON.stringify(type)}`,
      );
    }
    if (name !== target) out.set(name, type);
  }
  return out;
}

/**
 * Numeric when (nearly) every non-blank cell is a number, else categorical; undefined when all blank.
 * `typed` forces the type instead.
 */
function inferColumn(
  name: string,
  cells: string[],
  lines: number[],
  tolerance: number,
  warnings: string[],
  typed?: ColumnType,
): Column | undefined {
  if (typed === "categorical") {
    const values = cells.map((c) => c.trim());
    let missing = 0;
    for (const v of values) if (v === "") missing++;
    return missing === values.length ? undefined : { kind: "categorical", name, values, missing };
  }
  let nonBlank = 0;
  let numeric = 0;
  let firstText = -1;
  const parsed = new Float64Array(cells.length);
  for (let row = 0; row < cells.length; row++) {
    const cell = cells[row]!;
    const value = parseNumber(cell);
    parsed[row] = value;
    if (cell.trim() === "") continue;
    nonBlank++;
    if (Number.isNaN(value)) {
      if (firstText < 0) firstText = row;
    } else {
      numeric++;
    }
  }
  if (nonBlank === 0) return undefined;
  const texts = nonBlank - numeric;
  const example = () =>
    `e.g. ${JSON.stringify(cells[firstText])} in data row ${firstText} (CSV line ${lines[firstText]})`;

  if (typed === "numeric" && texts > tolerance * nonBlank) {
    throw new ChurnError(
      "INVALID_REQUEST",
      `Column "${name}" is typed numeric by the schema but ${texts} of ${nonBlank} non-blank cells are not numbers, ${example()}`,
    );
  }
  if (texts === 0 || (numeric > texts && texts <= tolerance * nonBlank)) {
    if (texts > 0) {
      warnings.push(`Column "${name}": ${texts} non-numeric cell(s) treated as missing, ${example()}`);
    }
    let missing = 0;
    for (const v of parsed) if (Number.isNaN(v)) missing++;
    return { kind: "numeric", name, values: parsed, missing };
  }
  if (numeric > texts) {
    throw new ChurnError(
      "INVALID_REQUEST",
      `Column "${name}" is mostly numeric but ${texts} of ${nonBlank} non-blank cells are not numbers, ${example()}; clean the column or drop it with --drop ${name}`,
    );
  }
  const values = cells.map((c) => c.trim());
  let missing = 0;
  for (const v of values) if (v === "") missing++;
  return { kind: "categorical", name, values, missing };
}

/**
 * Unique on every row: any categorical column, or a numeric one of whole numbers (customer numbers,
 * row numbers). Unique fractional numbers (salaries, balances) are ordinary measurements.
 */
function looksLikeId(column: Column): boolean {
  if (column.missing > 0) return false;
  if (column.kind === "numeric") {
    for (const v of column.values) if (!Number.isInteger(v)) return false;
  }
  return new Set<number | string>(column.values).size === column.values.length;
}

function distinctCount(column: CategoricalColumn): number {
  const seen = new Set<string>();
  for (const v of column.values) if (v !== "") seen.add(v);
  return seen.size;
}

function checkFeatureNames(names: string[]): void {
  const bad = names.filter((n) => !featureNameSchema.safeParse(n).success);
  if (bad.length === 0) return;
  throw new ChurnError(
    "INVALID_REQUEST",
    `Feature column names must start with a letter or _ and contain only letters, digits and _ (at most 64 characters); rename or --drop: ${bad.map((b) => JSON.stringify(b)).join(", ")}`,
  );
}
