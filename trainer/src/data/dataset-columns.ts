import type { CellReader } from "./cells.ts";

/**
 * One column as it streams in, before its type is known: every cell's number (NaN when missing or not a
 * number) and, while the column has few enough distinct texts, every cell's dictionary code. A column
 * with too many distinct texts (an ID, free text, or a measurement) gives up its dictionary, so a
 * million-row file holds 8 bytes per numeric cell, never a string per cell.
 */
export interface ColumnAccumulator {
  /** Rows the arrays below have room for. */
  capacity: number;
  /** Empty once the column settles as text. */
  numbers: Float64Array;
  /** Dictionary code per row, -1 for a missing cell; undefined once the dictionary overflowed. */
  codes: Int32Array | undefined;
  dictionary: { index: Map<string, number>; values: string[] } | undefined;
  /** Distinct values seen when the dictionary was given up (0 while it is kept). */
  distinctBeforeOverflow: number;
  /** Keeps the dictionary whatever its size (a column typed categorical). */
  keepDictionary: boolean;
  /**
   * After the first rows, a column of nothing but many distinct numbers stops keeping a dictionary, and a
   * column without a single number stops trying to parse them: most cells of a wide file cost one step.
   */
  mode: "open" | "numbers" | "texts";
  missing: number;
  numeric: number;
  /** Non-missing cells that are not numbers. */
  texts: number;
  /** Those cells' values with counts and first row (bounded: only the first distinct ones). */
  textCounts: Map<string, { count: number; row: number }>;
  /** Missing-value markers met ("" for blanks), with counts. */
  markers: Map<string, number>;
}

/** Distinct texts tracked for the report and error messages of a numeric column. */
const TEXT_EXAMPLES = 200;
/** The dictionary is given up past this many distinct values when they are also half the rows or more. */
const DICTIONARY_FLOOR = 65_536;
/** Rows after which a column's mode is settled (see ColumnAccumulator.mode). */
const SETTLE_ROWS = 1000;
/** Distinct numbers in the first SETTLE_ROWS beyond which an all-numeric column is a measurement. */
const MEASUREMENT_DISTINCT = 100;
const INITIAL_ROWS = 1024;

export function newAccumulator(keepDictionary: boolean): ColumnAccumulator {
  return {
    capacity: INITIAL_ROWS,
    numbers: new Float64Array(INITIAL_ROWS),
    codes: new Int32Array(INITIAL_ROWS),
    dictionary: { index: new Map(), values: [] },
    distinctBeforeOverflow: 0,
    keepDictionary,
    mode: "open",
    missing: 0,
    numeric: 0,
    texts: 0,
    textCounts: new Map(),
    markers: new Map(),
  };
}

export function pushCell(acc: ColumnAccumulator, row: number, cell: string, reader: CellReader): void {
  if (row === SETTLE_ROWS && acc.mode === "open") settle(acc);
  if (row === acc.capacity) grow(acc);
  const t = cell.trim();
  const marker = reader.missingMarker(t);
  if (marker !== undefined) {
    acc.missing++;
    acc.markers.set(marker, (acc.markers.get(marker) ?? 0) + 1);
    if (acc.mode !== "texts") acc.numbers[row] = Number.NaN;
    if (acc.codes) acc.codes[row] = -1;
    return;
  }
  const value = acc.mode === "texts" ? Number.NaN : reader.number(t);
  if (acc.mode !== "texts") acc.numbers[row] = value;
  if (Number.isNaN(value)) {
    acc.texts++;
    if (acc.mode !== "texts") {
      const seen = acc.textCounts.get(t);
      if (seen) seen.count++;
      else if (acc.textCounts.size < TEXT_EXAMPLES) acc.textCounts.set(t, { count: 1, row });
    }
  } else {
    acc.numeric++;
  }
  const dictionary = acc.dictionary;
  if (!dictionary) return;
  let code = dictionary.index.get(t);
  if (code === undefined) {
    code = dictionary.values.length;
    if (!acc.keepDictionary && code >= DICTIONARY_FLOOR && code >= (row + 1) / 2) {
      acc.distinctBeforeOverflow = code;
      acc.dictionary = undefined;
      acc.codes = undefined;
      return;
    }
    dictionary.index.set(t, code);
    dictionary.values.push(t);
  }
  acc.codes![row] = code;
}

function settle(acc: ColumnAccumulator): void {
  if (acc.keepDictionary) return;
  if (acc.texts === 0 && acc.numeric > 0 && (acc.dictionary?.values.length ?? 0) > MEASUREMENT_DISTINCT) {
    acc.mode = "numbers";
    acc.distinctBeforeOverflow = acc.dictionary!.values.length;
    acc.dictionary = undefined;
    acc.codes = undefined;
  } else if (acc.numeric === 0 && acc.texts > 0) {
    // A text column never becomes numeric now (see decideType): its numbers need no storage.
    acc.mode = "texts";
    acc.numbers = new Float64Array(0);
  }
}

function grow(acc: ColumnAccumulator): void {
  acc.capacity *= 2;
  if (acc.mode !== "texts") {
    const numbers = new Float64Array(acc.capacity);
    numbers.set(acc.numbers);
    acc.numbers = numbers;
  }
  if (acc.codes) {
    const codes = new Int32Array(acc.capacity);
    codes.set(acc.codes);
    acc.codes = codes;
  }
}

/** How many distinct numbers the column holds, when its dictionary says (else: many). */
export function distinctNumbers(acc: ColumnAccumulator, reader: CellReader): number {
  if (!acc.dictionary) return Number.POSITIVE_INFINITY;
  let n = 0;
  for (const v of acc.dictionary.values) if (!Number.isNaN(reader.number(v))) n++;
  return n;
}
