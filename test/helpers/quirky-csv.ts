import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import { parseCsvText } from "../../trainer/src/data/csv.ts";

/** A CSV as header and rows of cells, before it is written out in some dialect. */
export interface Table {
  header: string[];
  rows: string[][];
}

/** A variant of a clean file as real exports write it, and how training must be told about it. */
export interface Variant {
  name: string;
  bytes: Uint8Array;
  /** What the file's owner passes to `churn train` besides --data and --out. */
  args: string[];
  /** The variant's header for each clean column (renamed ones differ). */
  names: Map<string, string>;
}

export const SHARED_DATA = resolve(import.meta.dirname, "../../../shared/data");

/** The first `rows` data rows of a real file from the shared data sets. */
export async function readTable(path: string, rows: number): Promise<Table> {
  const [header, ...body] = await parseCsvText(await readFile(path, "utf8"));
  return { header: header!.cells, rows: body.slice(0, rows).map((r) => r.cells) };
}

interface Shape {
  table: Table;
  sep: string;
  eol: string;
  bom: boolean;
  quoteAll: boolean;
  latin1: boolean;
  args: string[];
  names: Map<string, string>;
}

/** One way real files differ from the clean copy; quirks compose. */
export type Quirk = (shape: Shape) => void;

const column = (s: Shape, clean: string) => s.table.header.indexOf(s.names.get(clean) ?? clean);

/** Headers with spaces, double spaces, punctuation, accents, a 130-character name and a repeat. */
export const messyHeaders =
  (renames: Record<string, string>, repeat?: [string, string]): Quirk =>
  (s) => {
    for (const [clean, messy] of Object.entries(renames)) {
      s.table.header[column(s, clean)] = messy;
      s.names.set(clean, messy);
    }
    if (repeat) {
      // Another column takes an existing column's header; the trainer makes it `<name>.1`.
      const [clean, taken] = repeat;
      s.table.header[column(s, clean)] = taken;
      s.names.set(clean, `${taken}.1`);
    }
  };

/** `;`-separated with CRLF endings and decimal commas, thousands grouped by points (a European Excel). */
export const europeanExcel: Quirk = (s) => {
  s.sep = ";";
  s.eol = "\r\n";
  for (const row of s.table.rows) {
    for (let c = 0; c < row.length; c++) {
      const cell = row[c]!;
      if (/^-?\d+\.\d+$/.test(cell)) {
        const [whole, fraction] = cell.split(".");
        row[c] = `${whole!.replace(/\B(?=(\d{3})+$)/g, ".")},${fraction}`;
      }
    }
  }
};

/** Missing cells written as the markers exports use, in the named numeric columns. */
export const missingMarkers =
  (columns: string[], markers = ["NA", "N/A", "NaN", "null", "?", "-", "None", ""]): Quirk =>
  (s) => {
    s.table.rows.forEach((row, r) => {
      if (r % 37 !== 5) return;
      const c = column(s, columns[r % columns.length]!);
      row[c] = markers[r % markers.length]!;
    });
  };

/** Money formatted as a spreadsheet shows it: a currency symbol and thousands grouped. */
export const moneyFormatted =
  (columns: string[]): Quirk =>
  (s) => {
    for (const name of columns) {
      const c = column(s, name);
      for (const row of s.table.rows) {
        const cell = row[c]!;
        if (!/^-?\d+(\.\d+)?$/.test(cell)) continue;
        const [whole, fraction] = Number(cell).toFixed(2).split(".");
        row[c] = `$${whole!.replace(/\B(?=(\d{3})+$)/g, ",")}.${fraction}`;
      }
    }
  };

/** A UTF-8 BOM and every cell quoted, numbers too. */
export const bomAndQuotes: Quirk = (s) => {
  s.bom = true;
  s.quoteAll = true;
};

/** Saved as Latin-1 (Windows-1252), with accented category values: needs `--encoding latin1`. */
export const latin1 =
  (columnName: string, from: string, to: string): Quirk =>
  (s) => {
    const c = column(s, columnName);
    for (const row of s.table.rows) if (row[c] === from) row[c] = to;
    s.latin1 = true;
    s.args.push("--encoding", "latin1");
  };

export const separatedBy =
  (sep: "\t" | "|"): Quirk =>
  (s) => {
    s.sep = sep;
  };

/**
 * The target's header padded with spaces, its values renamed, `--positive` given in another case, and
 * unlabelled rows appended (left out with `--drop-missing-target`), so the rows trained on are the clean ones.
 */
export const looseTarget =
  (target: string, labels: Record<string, string>, positive: string): Quirk =>
  (s) => {
    const c = column(s, target);
    s.table.header[c] = ` ${s.table.header[c]} `;
    for (const row of s.table.rows) row[c] = labels[row[c]!] ?? row[c]!;
    for (const row of s.table.rows.slice(0, 3)) s.table.rows.push(row.map((v, i) => (i === c ? "" : v)));
    s.args.push("--positive", positive, "--drop-missing-target");
  };

/** A sequential row number in front (dropped automatically as an ID). */
export const rowNumbers: Quirk = (s) => {
  s.table.header.unshift("Row #");
  s.table.rows.forEach((row, r) => {
    row.unshift(String(r + 1));
  });
};

export function variant(name: string, clean: Table, quirks: Quirk[], args: string[]): Variant {
  const shape: Shape = {
    table: { header: [...clean.header], rows: clean.rows.map((r) => [...r]) },
    sep: ",",
    eol: "\n",
    bom: false,
    quoteAll: false,
    latin1: false,
    args: [...args],
    names: new Map(),
  };
  for (const quirk of quirks) quirk(shape);
  const quote = (cell: string) =>
    shape.quoteAll || cell.includes(shape.sep) || /["\r\n]/.test(cell)
      ? `"${cell.replaceAll('"', '""')}"`
      : cell;
  const text =
    (shape.bom ? "\uFEFF" : "") +
    [shape.table.header, ...shape.table.rows].map((r) => r.map(quote).join(shape.sep)).join(shape.eol) +
    shape.eol;
  const bytes = shape.latin1
    ? Uint8Array.from(text, (ch) => ch.charCodeAt(0))
    : new TextEncoder().encode(text);
  return { name, bytes, args: shape.args, names: shape.names };
}
