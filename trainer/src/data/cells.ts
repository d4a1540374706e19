import type { CsvRecord, Separator } from "./csv.ts";

/**
 * Cells read as missing by default (after trimming): blanks and the markers spreadsheets, R, pandas and
 * databases write. `-` and `?` are common placeholders in hand-made exports.
 */
export const DEFAULT_NA_VALUES: readonly string[] = [
  "NA",
  "N/A",
  "n/a",
  "NaN",
  "nan",
  "null",
  "NULL",
  "None",
  "?",
  "-",
  "#N/A",
];

export type DecimalMark = "." | ",";

/** How cells turn into values: which texts are missing and how numbers are written. */
export interface CellReader {
  readonly decimal: DecimalMark;
  readonly naValues: ReadonlySet<string>;
  /** The missing-value marker a trimmed cell is ("" for a blank), or undefined when it holds a value. */
  missingMarker(trimmed: string): string | undefined;
  /** The number a trimmed, non-missing cell holds, or NaN when it is not one. */
  number(trimmed: string): number;
}

const PLAIN_DOT = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const THOUSANDS_COMMA = /^[+-]?\d{1,3}(?:,\d{3})+(?:\.\d*)?$/;
const PLAIN_COMMA = /^[+-]?(?:\d+,?\d*|,\d+)(?:[eE][+-]?\d+)?$/;
const THOUSANDS_DOT_OR_SPACE = /^[+-]?\d{1,3}(?:[. \u00a0\u202f]\d{3})+(?:,\d*)?$/;
const GROUPING = /[,. \u00a0\u202f]/g;

export function cellReader(
  options: { decimal?: DecimalMark | undefined; naValues?: readonly string[] | undefined } = {},
): CellReader {
  const decimal = options.decimal ?? ".";
  const naValues = new Set([...DEFAULT_NA_VALUES, ...(options.naValues ?? [])]);
  // Most cells are longer than any marker: their length alone says they are not one.
  let longestMarker = 0;
  for (const m of naValues) longestMarker = Math.max(longestMarker, m.length);
  const plain =
    decimal === "."
      ? (t: string): number => {
          if (isPlainDecimal(t) || PLAIN_DOT.test(t)) return finite(Number(t));
          // 1,234,567.89: commas group thousands where the decimal mark is a point.
          if (THOUSANDS_COMMA.test(t))
            return finite(Number(t.replace(GROUPING, (g) => (g === "." ? "." : ""))));
          return Number.NaN;
        }
      : (t: string): number => {
          if (PLAIN_COMMA.test(t)) return finite(Number(t.replace(",", ".")));
          // 1.234.567,89 or 1 234 567,89: points or spaces group thousands where the decimal mark is a comma.
          if (THOUSANDS_DOT_OR_SPACE.test(t)) {
            return finite(Number(t.replace(GROUPING, (g) => (g === "," ? "." : ""))));
          }
          // A lone point-decimal (3.14) cannot be a grouped number, so it reads as written.
          if (PLAIN_DOT.test(t)) return finite(Number(t));
          return Number.NaN;
        };
  // Money and shares as spreadsheets format them: $1,234.50, -€5, 1.234,50 €, 12 %. Read as the number
  // written (12 % is 12), and only when the plain reading fails, so ordinary cells pay nothing.
  const number = (t: string): number => {
    const value = plain(t);
    if (!Number.isNaN(value) || t.length < 2) return value;
    const unit = UNIT.exec(t);
    if (!unit) return value;
    const inner = plain(`${unit[1] ?? ""}${unit[2] ?? unit[3] ?? ""}`.trim());
    return inner;
  };
  return {
    decimal,
    naValues,
    missingMarker: (t) => (t === "" || (t.length <= longestMarker && naValues.has(t)) ? t : undefined),
    number,
  };
}

/** A sign, then a currency symbol before the number, or a currency or percent sign after it. */
const UNIT = /^([+-]?)\s*(?:[$€£¥]\s?([^$€£¥%]+)|([^$€£¥%]+?)\s?[$€£¥%])$/;

/** Digits with at most one point and an optional sign: the common case, checked without a regex. */
function isPlainDecimal(t: string): boolean {
  const n = t.length;
  let i = 0;
  let c = t.charCodeAt(0);
  if (c === 45 || c === 43) i = 1;
  let digits = 0;
  let point = false;
  for (; i < n; i++) {
    c = t.charCodeAt(i);
    if (c >= 48 && c <= 57) digits++;
    else if (c === 46 && !point) point = true;
    else return false;
  }
  return digits > 0;
}

function finite(value: number): number {
  return Number.isFinite(value) ? value : Number.NaN;
}

const COMMA_DECIMAL = /^[+-]?\d+,\d+$/;
const DOT_DECIMAL = /^[+-]?\d+\.\d+$/;
/** `1,500` is a grouped thousand or one and a half: it says nothing about the decimal mark. */
const AMBIGUOUS = /^[+-]?\d{1,3}[,.]\d{3}$/;

/**
 * The decimal mark of a file whose separator is not the comma, judged from its first records: a comma
 * when more cells read as comma decimals (`3,14`) than as point decimals (`3.14`). Comma-separated files
 * always use the point.
 */
export function sniffDecimalMark(records: readonly CsvRecord[], separator: Separator): DecimalMark {
  if (separator === ",") return ".";
  let comma = 0;
  let dot = 0;
  for (const record of records) {
    for (const cell of record.cells) {
      const t = cell.trim();
      if (AMBIGUOUS.test(t)) continue;
      if (COMMA_DECIMAL.test(t)) comma++;
      else if (DOT_DECIMAL.test(t)) dot++;
    }
  }
  return comma > dot ? "," : ".";
}
