import { readFile } from "node:fs/promises";
import { ChurnError } from "#shared/errors.ts";
import type { LabeledRecords } from "#shared/retraining.ts";
import { parseCsvText } from "../data/csv.ts";
import { quoteCsv } from "../data/csv-writer.ts";
import { type Split, stratifiedSplit } from "../ml/split.ts";

/** A CSV held in memory: header and rows of cells, all in the header's column order. */
export interface Table {
  header: string[];
  rows: string[][];
}

/** Reads a CSV from a path or an http(s) URL. */
export async function readTable(location: string): Promise<Table> {
  let text: string;
  if (/^https?:\/\//i.test(location)) {
    let res: Response;
    try {
      res = await fetch(location);
    } catch (cause) {
      throw new ChurnError("UNAVAILABLE", `Cannot fetch ${location}: ${(cause as Error).message}`, { cause });
    }
    if (!res.ok) throw new ChurnError("UNAVAILABLE", `Fetching ${location} answered HTTP ${res.status}`);
    text = await res.text();
  } else {
    try {
      text = await readFile(location, "utf8");
    } catch (cause) {
      throw new ChurnError("INVALID_REQUEST", `Cannot read ${location}: ${(cause as Error).message}`, {
        cause,
      });
    }
  }
  const [head, ...rest] = await parseCsvText(text);
  if (!head) throw new ChurnError("INVALID_REQUEST", `${location} is empty: expected a header row`);
  return { header: head.cells.map((h) => h.trim()), rows: rest.map((r) => r.cells) };
}

/** `table`'s rows laid out on `header` (by column name; a column it lacks is blank). */
export function alignTo(table: Table, header: readonly string[]): string[][] {
  const index = new Map(table.header.map((h, i) => [h, i]));
  const at = header.map((h) => index.get(h));
  return table.rows.map((row) => at.map((i) => (i === undefined ? "" : (row[i] ?? ""))));
}

/**
 * Feedback-labeled records as rows on the data source's header: each field by name, the target column
 * set to the positive value for churners and to the source's other target value otherwise.
 */
export function labeledRows(
  labeled: LabeledRecords,
  header: readonly string[],
  target: string,
  positive: string,
  negative: string,
): string[][] {
  return labeled.records.map(({ record, churned }) =>
    header.map((column) => {
      if (column === target) return churned ? positive : negative;
      const value = record[column];
      return value === null || value === undefined ? "" : String(value);
    }),
  );
}

/** The target value that is not `positive` (the first one met), for labeling records. */
export function negativeValue(table: Table, target: string, positive: string): string {
  const t = table.header.indexOf(target);
  if (t < 0) throw new ChurnError("INVALID_REQUEST", `The data source has no target column "${target}"`);
  const other = table.rows.find((r) => (r[t] ?? "").trim() !== positive);
  if (!other)
    throw new ChurnError("INVALID_REQUEST", `Every row of the data source has ${target} = ${positive}`);
  return other[t]!.trim();
}

export interface TrainingSet {
  table: Table;
  split: Split;
  /** 0/1 labels of the holdout rows, in split.test order. */
  holdoutLabels: number[];
}

/**
 * Training rows plus a holdout both models are judged on: the fixed holdout's rows when the policy names
 * one (appended after the training rows), otherwise a seeded stratified fifth of the training rows.
 */
export function assembleTrainingSet(
  training: Table,
  holdout: Table | null,
  target: string,
  positive: string,
  seed: number,
): TrainingSet {
  const t = training.header.indexOf(target);
  const label = (row: string[]) => ((row[t] ?? "").trim() === positive ? 1 : 0);
  const rows = [...training.rows];
  let split: Split;
  if (holdout) {
    const extra = alignTo(holdout, training.header);
    const first = rows.length;
    for (const row of extra) rows.push(row);
    split = {
      train: Array.from({ length: first }, (_, i) => i),
      test: Array.from({ length: extra.length }, (_, i) => first + i),
    };
  } else {
    split = stratifiedSplit(rows.map(label), seed);
  }
  if (split.test.length === 0) throw new ChurnError("INVALID_REQUEST", "The holdout has no rows");
  return {
    table: { header: training.header, rows },
    split,
    holdoutLabels: split.test.map((i) => label(rows[i]!)),
  };
}

export function tableToCsv(table: Table): string {
  const lines = [table.header.map(quoteCsv).join(",")];
  for (const row of table.rows) lines.push(row.map(quoteCsv).join(","));
  return `${lines.join("\n")}\n`;
}
