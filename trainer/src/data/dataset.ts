import { ChurnError } from "#shared/errors.ts";
import { type CellReader, cellReader, type DecimalMark } from "./cells.ts";
import type { CsvDialect, CsvRecord, CsvSource, Separator } from "./csv.ts";
import { type ColumnAccumulator, distinctNumbers, newAccumulator, pushCell } from "./dataset-columns.ts";
import { graphInputNames, type HeaderRename, headerIndex, usableHeader } from "./feature-names.ts";
import { openTable, type TableOptions } from "./table.ts";
import type { TextEncodingName } from "./text-decoding.ts";

/** Numeric feature column; NaN marks a missing cell. */
export interface NumericColumn {
  kind: "numeric";
  /** The column's header, exactly as written (made unique). */
  name: string;
  /** The ONNX input the column feeds (a plain identifier derived from the name). */
  input: string;
  values: Float64Array;
  missing: number;
}

/** Categorical feature column of trimmed strings; "" marks a missing cell. */
export interface CategoricalColumn {
  kind: "categorical";
  name: string;
  input: string;
  values: string[];
  missing: number;
}

export type Column = NumericColumn | CategoricalColumn;
/** A column before its graph input name is derived (that needs every kept column's name). */
type BareColumn = Omit<NumericColumn, "input"> | Omit<CategoricalColumn, "input">;

export interface BinaryTarget {
  column: string;
  positive: string;
  negative: string;
  /** 1 for the positive class, 0 otherwise, one entry per data row. */
  y: Uint8Array;
}

/** What the loader did with the file: how it read it and what it decided, for the report and `--json`. */
export interface DataReading {
  separator: Separator;
  separatorDetected: boolean;
  encoding: TextEncodingName;
  bom: boolean;
  lineEndings: CsvDialect["lineEndings"];
  decimal: DecimalMark;
  /** Data rows in the file, and those kept (rows without a target are dropped on request). */
  rowsRead: number;
  rowsKept: number;
  /** Rows left out because their target was missing (`dropMissingTarget`), by CSV line (first 20). */
  missingTargetRows: { count: number; lines: number[] };
  /** Rows skipped because every cell was empty. */
  blankRows: { count: number; lines: number[] };
  /** Rows padded to the header's width (too few cells) or trimmed (empty cells beyond it). */
  fittedRows: { count: number; lines: number[] };
  headerRenames: HeaderRename[];
  /** Set when `--target` matched a header only after trimming whitespace. */
  targetMatchedAs?: string;
  /** Missing-value markers met in feature cells, with how often. */
  naMarkers: Record<string, number>;
  /** How each column was typed, and the cells that did not fit its type (treated as missing). */
  columns: ColumnReading[];
}

export interface ColumnReading {
  name: string;
  role: "feature" | "target" | "dropped";
  type: "numeric" | "categorical" | "empty";
  missing: number;
  /** Non-missing cells that are not numbers in a numeric column, now missing. */
  unparsed: number;
  /** The commonest such cells, to show the user what was set aside. */
  unparsedExamples: string[];
  reason?: string;
}

export interface Dataset {
  /** Feature columns in CSV order (target and dropped columns removed). */
  features: Column[];
  target: BinaryTarget;
  rowCount: number;
  /** 1-based CSV line each data row starts on, for error messages. */
  lines: Int32Array;
  /** 0-based data row of the file each kept row is (differs once rows without a target are dropped). */
  sourceRows: Int32Array | undefined;
  dropped: { column: string; reason: string }[];
  warnings: string[];
  reading: DataReading;
}

export type ColumnType = "numeric" | "categorical";

export interface DatasetOptions extends TableOptions {
  target: string;
  positive: string;
  /**
   * Columns to leave out: each entry one header as written (or trimmed), else several separated by commas.
   */
  drop?: readonly string[];
  /**
   * Column types that override inference. A numeric column's non-numeric cells are then an error naming
   * the row (beyond the usual tolerance); a categorical one keeps numbers as text. Named columns are never
   * dropped automatically as ID-like or high-cardinality.
   */
  schema?: Readonly<Record<string, ColumnType>>;
  /** Leave out rows whose target is missing instead of stopping. */
  dropMissingTarget?: boolean;
  /**
   * Share of non-missing cells that may be unparseable text in an otherwise numeric column; those cells
   * become missing. Beyond it, the column is still numeric when numbers are the clear majority and take
   * many values (a measurement with a few placeholder words); otherwise it is categorical.
   */
  nonNumericTolerance?: number;
  /** Columns unique on every row look like identifiers; only judged from this many rows. */
  idColumnMinRows?: number;
  /**
   * Categorical columns with more distinct values than this, which are also more than a tenth of the
   * rows (surnames, e-mail addresses, free text), are dropped: one-hot encoding cannot generalise them.
   * Fewer, however many, are kept: their most frequent levels are encoded and the rest pooled.
   */
  maxCardinality?: number;
}

const DEFAULT_TOLERANCE = 0.05;
const DEFAULT_ID_MIN_ROWS = 20;
export const DEFAULT_MAX_CARDINALITY = 100;
/** Numbers beyond the tolerance keep a column numeric when they are this share and take this many values. */
const NUMERIC_MAJORITY = 0.8;
const NUMERIC_MIN_DISTINCT = 20;
const MAX_LISTED_LINES = 20;

/** CSV line numbers for a message: the first MAX_LISTED_LINES, and an ellipsis when there are more. */
const listed = (lines: readonly number[]) =>
  `${lines.slice(0, MAX_LISTED_LINES).join(", ")}${lines.length > MAX_LISTED_LINES ? ", …" : ""}`;

/** Parses a decimal number written with a point; blank or non-numeric text gives NaN. */
export function parseNumber(text: string): number {
  return DEFAULT_READER.number(text.trim());
}
const DEFAULT_READER = cellReader();

/** Streams a CSV into a typed, columnar dataset with a binary target, holding only typed columns. */
export async function loadDataset(source: CsvSource, options: DatasetOptions): Promise<Dataset> {
  const table = await openTable(source, options);
  const loader = new DatasetLoader(table.header, table.dialect, table.reader, options);
  for await (const record of table.records) loader.push(record);
  return loader.finish();
}

/** Builds the dataset from raw string columns (`columns[c][row]`), as if they were read from a file. */
export function buildDataset(
  header: string[],
  columns: string[][],
  lines: readonly number[],
  options: DatasetOptions,
): Dataset {
  const dialect: CsvDialect = {
    separator: options.separator ?? ",",
    encoding: "utf-8",
    bom: false,
    separatorDetected: false,
    lineEndings: "LF",
  };
  const reader = cellReader({ decimal: options.decimal, naValues: options.naValues });
  const loader = new DatasetLoader(header, dialect, reader, options);
  lines.forEach((line, row) => {
    loader.push({ line, cells: columns.map((c) => c[row]!) });
  });
  return loader.finish();
}

/** Accumulates typed columns record by record, then types, checks and assembles them. */
class DatasetLoader {
  private readonly names: string[];
  private readonly renames: HeaderRename[];
  private readonly targetIndex: number;
  private readonly targetMatchedAs: string | undefined;
  private readonly columns: (ColumnAccumulator | undefined)[];
  private readonly targetCells: string[] = [];
  /** Lines of rows with every cell empty, skipped. */
  private readonly blankRows: number[] = [];
  /** Lines of rows padded or trimmed to the header's width. */
  private readonly fittedRows: number[] = [];
  private lines = new Int32Array(1024);
  /** Per kept row, its 0-based data row in the file (blank rows count there, as a split file counts them). */
  private sources = new Int32Array(1024);
  /** Data rows in the file, blank ones included. */
  private dataRows = 0;
  private rows = 0;
  private readonly drop: Set<string>;
  private readonly schema: Map<string, ColumnType>;
  private readonly dialect: CsvDialect;
  private readonly reader: CellReader;
  private readonly options: DatasetOptions;

  constructor(rawHeader: string[], dialect: CsvDialect, reader: CellReader, options: DatasetOptions) {
    this.dialect = dialect;
    this.reader = reader;
    this.options = options;
    if (rawHeader.length === 0)
      throw new ChurnError("INVALID_REQUEST", "CSV input is empty: expected a header row");
    const { names, renamed } = usableHeader(rawHeader);
    this.names = names;
    this.renames = renamed;
    const target = findColumn(names, options.target, `Target column "${options.target}" not found`, dialect);
    this.targetIndex = target.index;
    this.targetMatchedAs = target.matchedAs;
    this.drop = new Set(
      (options.drop ?? [])
        .flatMap((given) => dropRequest(names, given, dialect))
        .map((index) => {
          if (index === this.targetIndex)
            throw new ChurnError("INVALID_REQUEST", `Cannot drop the target column "${names[index]}"`);
          return names[index]!;
        }),
    );
    this.schema = checkSchema(options.schema ?? {}, names, this.targetIndex, dialect);
    // Typed categorical columns keep every distinct value, however many there are. Dropped columns and
    // the target have no accumulator, so the per-cell loop asks nothing else of them.
    this.columns = names.map((name, c) =>
      c === this.targetIndex || this.drop.has(name)
        ? undefined
        : newAccumulator(this.schema.get(name) === "categorical"),
    );
  }

  push(record: CsvRecord): void {
    const cells = record.cells;
    const source = this.dataRows++;
    // A row of nothing but separators (spreadsheets leave them below the data) carries no customer.
    if (allBlank(cells)) {
      this.blankRows.push(record.line);
      return;
    }
    if (record.fitted) this.fittedRows.push(record.line);
    const row = this.rows;
    if (row === this.lines.length) {
      this.lines = grownInt32(this.lines);
      this.sources = grownInt32(this.sources);
    }
    this.lines[row] = record.line;
    this.sources[row] = source;
    const columns = this.columns;
    const reader = this.reader;
    for (let c = 0; c < cells.length; c++) {
      const acc = columns[c];
      if (acc) pushCell(acc, row, cells[c]!, reader);
    }
    this.targetCells.push(cells[this.targetIndex]!.trim());
    this.rows++;
  }

  finish(): Dataset {
    const options = this.options;
    const rowsRead = this.rows;
    if (rowsRead === 0) throw new ChurnError("INVALID_REQUEST", "CSV has a header but no data rows");
    const lines = this.lines.subarray(0, rowsRead);
    const sources = this.sources.subarray(0, rowsRead);
    const targetName = this.names[this.targetIndex]!;
    const { target, keep, missingLines } = readTarget(
      targetName,
      options.positive,
      this.targetCells,
      lines,
      this.reader,
      options.dropMissingTarget ?? false,
    );
    const warnings: string[] = [];
    if (this.targetMatchedAs !== undefined) {
      warnings.push(
        `Target "${options.target}" matched the header ${JSON.stringify(this.targetMatchedAs)} after trimming whitespace`,
      );
    }
    for (const r of this.renames) {
      warnings.push(
        `Column ${r.column} renamed ${JSON.stringify(r.from)} → ${JSON.stringify(r.to)}: ${r.reason}`,
      );
    }
    if (this.blankRows.length > 0) {
      warnings.push(
        `Skipped ${this.blankRows.length} row(s) with every cell empty (CSV lines ${listed(this.blankRows)})`,
      );
    }
    if (this.fittedRows.length > 0) {
      warnings.push(
        `${this.fittedRows.length} row(s) had fewer cells than the header (padded with missing cells) or empty cells beyond it (CSV lines ${listed(this.fittedRows)})`,
      );
    }
    if (missingLines.length > 0) {
      warnings.push(
        `Left out ${missingLines.length} row(s) whose target is missing (CSV lines ${listed(missingLines)})`,
      );
    }
    const rowCount = keep ? keep.length : rowsRead;
    const tolerance = options.nonNumericTolerance ?? DEFAULT_TOLERANCE;
    const idMinRows = options.idColumnMinRows ?? DEFAULT_ID_MIN_ROWS;
    const maxCardinality = options.maxCardinality ?? DEFAULT_MAX_CARDINALITY;
    const dropped: Dataset["dropped"] = [];
    const readings: ColumnReading[] = [];
    const naMarkers: Record<string, number> = {};
    const features: BareColumn[] = [];

    this.names.forEach((name, c) => {
      if (c === this.targetIndex) {
        readings.push({
          name,
          role: "target",
          type: "categorical",
          missing: missingLines.length,
          unparsed: 0,
          unparsedExamples: [],
        });
        return;
      }
      if (this.drop.has(name)) {
        dropped.push({ column: name, reason: "dropped by request" });
        readings.push({
          name,
          role: "dropped",
          type: "empty",
          missing: 0,
          unparsed: 0,
          unparsedExamples: [],
          reason: "dropped by request",
        });
        return;
      }
      const acc = this.columns[c]!;
      // Let each accumulator go as soon as its column is built: a million rows x 60 columns of them is
      // most of the memory reading takes.
      this.columns[c] = undefined;
      for (const [marker, count] of acc.markers) naMarkers[marker] = (naMarkers[marker] ?? 0) + count;
      const typed = this.schema.get(name);
      const decided = decideType(name, acc, rowsRead, tolerance, lines, this.reader, typed);
      const reading: ColumnReading = {
        name,
        role: "feature",
        type: decided.type,
        missing: acc.missing + (decided.type === "numeric" ? acc.texts : 0),
        unparsed: decided.type === "numeric" ? acc.texts : 0,
        unparsedExamples: decided.type === "numeric" ? topTexts(acc, 5) : [],
      };
      readings.push(reading);
      const reject = (reason: string, warning: string) => {
        reading.role = "dropped";
        reading.reason = reason;
        dropped.push({ column: name, reason });
        warnings.push(warning);
      };
      if (decided.type === "empty") {
        reject("every cell is missing", `Dropped column "${name}": every cell is missing`);
        return;
      }
      if (decided.note) warnings.push(decided.note);
      let column: BareColumn;
      if (decided.type === "numeric") {
        // Exactly sized, on shared memory: the search's second fitting thread reads it without a copy.
        const values = new Float64Array(new SharedArrayBuffer(rowCount * Float64Array.BYTES_PER_ELEMENT));
        if (keep) for (let i = 0; i < rowCount; i++) values[i] = acc.numbers[keep[i]!]!;
        else values.set(acc.numbers.subarray(0, rowCount));
        let missing = 0;
        for (let i = 0; i < values.length; i++) if (Number.isNaN(values[i]!)) missing++;
        column = { kind: "numeric", name, values, missing };
      } else {
        if (!acc.dictionary) {
          reject(
            `high cardinality (over ${acc.distinctBeforeOverflow} distinct values)`,
            `Dropped column "${name}": over ${acc.distinctBeforeOverflow} distinct values in ${rowsRead} rows is free text or an identifier, not something to learn from; type it with --schema to keep it`,
          );
          return;
        }
        const strings = acc.dictionary.values;
        const codes = acc.codes!;
        const values = new Array<string>(rowCount);
        let missing = 0;
        for (let i = 0; i < rowCount; i++) {
          const code = codes[keep ? keep[i]! : i]!;
          values[i] = code < 0 ? "" : strings[code]!;
          if (code < 0) missing++;
        }
        column = { kind: "categorical", name, values, missing };
      }
      if (!typed && rowCount >= idMinRows) {
        const id = idLike(column);
        if (id) {
          reject(id, `Dropped column "${name}": ${id}, so it looks like an ID`);
          return;
        }
      }
      const distinct = column.kind === "categorical" ? acc.dictionary!.values.length : 0;
      if (!typed && distinct > maxCardinality && distinct > 0.1 * (rowCount - column.missing)) {
        reject(
          `high cardinality (${distinct} distinct values)`,
          `Dropped column "${name}": ${distinct} distinct values in ${rowCount} rows is too many to learn from; type it with --schema to keep it`,
        );
        return;
      }
      features.push(column);
    });

    if (features.length === 0) throw new ChurnError("INVALID_REQUEST", "No feature columns left to train on");
    const inputs = graphInputNames(features.map((f) => f.name));
    const keptLines = keep ? Int32Array.from(keep, (r) => lines[r]!) : lines;
    return {
      features: features.map((f, i) => ({ ...f, input: inputs[i]! }) as Column),
      target,
      rowCount,
      lines: keptLines,
      sourceRows: keep
        ? Int32Array.from(keep, (r) => sources[r]!)
        : this.blankRows.length > 0
          ? Int32Array.from(sources)
          : undefined,
      dropped,
      warnings,
      reading: {
        separator: this.dialect.separator,
        separatorDetected: this.dialect.separatorDetected,
        encoding: this.dialect.encoding,
        bom: this.dialect.bom,
        lineEndings: this.dialect.lineEndings,
        decimal: this.reader.decimal,
        rowsRead: this.dataRows,
        rowsKept: rowCount,
        missingTargetRows: { count: missingLines.length, lines: missingLines.slice(0, MAX_LISTED_LINES) },
        blankRows: { count: this.blankRows.length, lines: this.blankRows.slice(0, MAX_LISTED_LINES) },
        fittedRows: { count: this.fittedRows.length, lines: this.fittedRows.slice(0, MAX_LISTED_LINES) },
        headerRenames: this.renames,
        ...(this.targetMatchedAs !== undefined ? { targetMatchedAs: this.targetMatchedAs } : {}),
        naMarkers,
        columns: readings,
      },
    };
  }
}

/**
 * A column named on the command line: exactly, else after trimming whitespace on both sides. A header that
 * is not found is an error listing the headers, and saying so when the file read as one column (a
 * separator the sniffing could not find).
 */
function findColumn(
  names: readonly string[],
  wanted: string,
  notFound: string,
  dialect: CsvDialect,
): { index: number; matchedAs?: string } {
  const index = headerIndex(names, wanted);
  if (index >= 0) return names[index] === wanted ? { index } : { index, matchedAs: names[index]! };
  const oneColumn =
    names.length === 1
      ? `; the header reads as one column with separator ${JSON.stringify(dialect.separator)}: pass --sep to name the file's separator`
      : "";
  throw new ChurnError(
    "INVALID_REQUEST",
    `${notFound}; available columns: ${names.map((n) => JSON.stringify(n)).join(", ")}${oneColumn}`,
  );
}

/** A `--drop` value: one header (even one holding commas), else a comma-separated list of headers. */
function dropRequest(names: readonly string[], given: string, dialect: CsvDialect): number[] {
  const one = (name: string) =>
    findColumn(names, name, `Cannot drop column "${name}": not in the CSV`, dialect).index;
  if (headerIndex(names, given) >= 0 || !given.includes(",")) return [one(given)];
  return given
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "")
    .map(one);
}

function checkSchema(
  schema: Readonly<Record<string, ColumnType>>,
  names: readonly string[],
  targetIndex: number,
  dialect: CsvDialect,
): Map<string, ColumnType> {
  const out = new Map<string, ColumnType>();
  for (const [name, type] of Object.entries(schema)) {
    const { index } = findColumn(names, name, `Schema names column "${name}": not in the CSV`, dialect);
    if (type !== "numeric" && type !== "categorical") {
      throw new ChurnError(
        "INVALID_REQUEST",
        `Schema type of column "${name}" must be "numeric" or "categorical", got ${JSON.stringify(type)}`,
      );
    }
    if (index !== targetIndex) out.set(names[index]!, type);
  }
  return out;
}

/**
 * The binary target. Its two values may be anything; `positive` names one, matched exactly, else
 * ignoring case or as the same number (`1` for `1.0`). A missing target stops with the lines at fault,
 * unless those rows may be left out; a third value stops naming where each extra value occurs.
 */
function readTarget(
  column: string,
  positive: string,
  cells: readonly string[],
  lines: Int32Array,
  reader: CellReader,
  dropMissing: boolean,
): { target: BinaryTarget; keep: Int32Array | undefined; missingLines: number[] } {
  const missingLines: number[] = [];
  const firstLine = new Map<string, number[]>();
  cells.forEach((v, row) => {
    if (reader.missingMarker(v) !== undefined) {
      missingLines.push(lines[row]!);
      return;
    }
    const seen = firstLine.get(v);
    if (!seen) firstLine.set(v, [lines[row]!]);
    else if (seen.length < 3) seen.push(lines[row]!);
  });
  if (missingLines.length > 0 && !dropMissing) {
    throw new ChurnError(
      "INVALID_REQUEST",
      `Target "${column}" is missing in ${missingLines.length} row(s), at CSV line(s) ${listed(missingLines)}; label them, or pass --drop-missing-target to leave them out`,
    );
  }
  const labels = [...firstLine.keys()].sort();
  if (labels.length !== 2) {
    const byCount = [...firstLine.entries()].sort((a, b) => a[1][0]! - b[1][0]!);
    const shown = byCount
      .slice(0, 10)
      .map(([v, at]) => `${JSON.stringify(v)} (line ${at.join(", ")}${at.length === 3 ? ", …" : ""})`);
    const more = labels.length > 10 ? ` and ${labels.length - 10} more` : "";
    throw new ChurnError(
      "INVALID_REQUEST",
      labels.length < 2
        ? `Target "${column}" has only one value (${shown.join(", ")}): a churn model needs rows of both outcomes`
        : `Target "${column}" must have exactly 2 distinct values for binary churn prediction, found ${labels.length}: ${shown.join(", ")}${more}`,
    );
  }
  const chosen = matchLabel(labels, positive, reader);
  if (chosen === undefined) {
    throw new ChurnError(
      "INVALID_REQUEST",
      `Positive label "${positive}" is not a value of target "${column}"; its values are ${labels.map((l) => JSON.stringify(l)).join(" and ")}`,
    );
  }
  const negative = labels[0] === chosen ? labels[1]! : labels[0]!;
  let keep: Int32Array | undefined;
  if (missingLines.length > 0) {
    keep = new Int32Array(cells.length - missingLines.length);
    let k = 0;
    cells.forEach((v, row) => {
      if (reader.missingMarker(v) === undefined) keep![k++] = row;
    });
  }
  const n = keep ? keep.length : cells.length;
  const y = new Uint8Array(n);
  for (let i = 0; i < n; i++) y[i] = cells[keep ? keep[i]! : i] === chosen ? 1 : 0;
  return { target: { column, positive: chosen, negative, y }, keep, missingLines };
}

function matchLabel(labels: readonly string[], positive: string, reader: CellReader): string | undefined {
  const wanted = positive.trim();
  if (labels.includes(wanted)) return wanted;
  const folded = labels.filter((l) => l.toLowerCase() === wanted.toLowerCase());
  if (folded.length === 1) return folded[0];
  const number = reader.number(wanted);
  if (!Number.isNaN(number)) {
    const same = labels.filter((l) => reader.number(l) === number);
    if (same.length === 1) return same[0];
  }
  return undefined;
}

/**
 * Numeric when the unparseable cells are at most `tolerance` of the non-missing ones, or when numbers are
 * the clear majority and take many values; categorical otherwise. `typed` forces the type, and a numeric
 * schema type beyond the tolerance is an error naming a row.
 */
function decideType(
  name: string,
  acc: ColumnAccumulator,
  rows: number,
  tolerance: number,
  lines: Int32Array,
  reader: CellReader,
  typed: ColumnType | undefined,
): { type: "numeric" | "categorical" | "empty"; note?: string } {
  const present = acc.numeric + acc.texts;
  if (present === 0) return { type: "empty" };
  if (typed === "categorical") return { type: "categorical" };
  const example = () => {
    const [text, first] = [...acc.textCounts.entries()].sort((a, b) => b[1].count - a[1].count)[0]!;
    return `e.g. ${JSON.stringify(text)} at CSV line ${lines[first.row]}`;
  };
  const within = acc.texts <= tolerance * present;
  if (typed === "numeric" && !within) {
    throw new ChurnError(
      "INVALID_REQUEST",
      `Column "${name}" is typed numeric by the schema but ${acc.texts} of ${present} non-missing cells are not numbers, ${example()}`,
    );
  }
  const majority =
    acc.numeric >= NUMERIC_MAJORITY * present && distinctNumbers(acc, reader) >= NUMERIC_MIN_DISTINCT;
  if (acc.texts === 0) return { type: "numeric" };
  if (within || typed === "numeric" || majority) {
    return {
      type: "numeric",
      note: `Column "${name}": ${acc.texts} of ${rows} cells are not numbers and are treated as missing (${topTexts(
        acc,
        3,
      )
        .map((t) => JSON.stringify(t))
        .join(", ")}; ${example()}); add them to --na-values to silence this`,
    };
  }
  return { type: "categorical" };
}

function topTexts(acc: ColumnAccumulator, max: number): string[] {
  return [...acc.textCounts.entries()]
    .sort((a, b) => b[1].count - a[1].count)
    .slice(0, max)
    .map(([text]) => text);
}

/**
 * Why a column looks like an identifier, or undefined: unique on every row (any text column, or whole
 * numbers such as customer numbers), or whole numbers running consecutively (row numbers with a few
 * repeats). Unique fractional numbers (salaries, balances) are ordinary measurements.
 */
function idLike(column: BareColumn): string | undefined {
  if (column.missing > 0) return undefined;
  if (column.kind === "categorical") {
    return new Set(column.values).size === column.values.length
      ? "its value is unique on every row"
      : undefined;
  }
  const values = column.values;
  for (let i = 0; i < values.length; i++) if (!Number.isInteger(values[i]!)) return undefined;
  const sorted = Float64Array.from(values).sort();
  let distinct = 1;
  for (let i = 1; i < sorted.length; i++) if (sorted[i] !== sorted[i - 1]) distinct++;
  if (distinct === values.length) return "its value is unique on every row";
  const span = sorted[sorted.length - 1]! - sorted[0]! + 1;
  if (distinct >= 0.99 * values.length && span === distinct) return "its whole numbers run consecutively";
  return undefined;
}

function grownInt32(array: Int32Array<ArrayBuffer>): Int32Array<ArrayBuffer> {
  const grown = new Int32Array(array.length * 2);
  grown.set(array);
  return grown;
}

/** A row of nothing but separators; usually decided by its first cell. */
function allBlank(cells: readonly string[]): boolean {
  for (const c of cells) if (c.trim() !== "") return false;
  return true;
}
