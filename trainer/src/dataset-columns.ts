import type { CellReader } from "./cells.ts";

/**
 * One column as it streams in, before its type is known: every cell's number (NaN when missing or not a
 * number) and, while the column has few enough distinct texts, every cell's dictionary code. A column
 * with too many distinct texts (an ID, free text, or a measurement) gives up its dictionary, so a
 * million-row file holds 8 bytes per numeric cell, never a string per cell.
 */
export interface ColumnAccumulator {
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
/** Distinct numbers beyond which an all-numeric column is a measurement, not a code list. */
const MEASUREMENT_DISTINCT = 1000;
const INITIAL_ROWS = 1024;

export function newAccumulator(keepDictionary: boolean): ColumnAccumulator {
  return {
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
  if (row === acc.numbers.length) grow(acc);
  if (row === SETTLE_ROWS && acc.mode === "open") settle(acc);
  const t = cell.trim();
  const marker = reader.missingMarker(t);
  if (marker !== undefined) {
    acc.missing++;
    acc.markers.set(marker, (acc.markers.get(marker) ?? 0) + 1);
    acc.numbers[row] = Number.NaN;
    if (acc.codes) acc.codes[row] = -1;
    return;
  }
  const value = acc.mode === "texts" ? Number.NaN : reader.number(t);
  acc.numbers[row] = value;
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
    acc.mode = "texts";
  }
}

function grow(acc: ColumnAccumulator): void {
  const numbers = new Float64Array(acc.numbers.length * 2);
  numbers.set(acc.numbers);
  acc.numbers = numbers;
  if (acc.codes) {
    const codes = new Int32Array(acc.codes.length * 2);
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
