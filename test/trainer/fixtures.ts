import { writeFile } from "node:fs/promises";
import { toCsv } from "../../trainer/src/data/csv-writer.ts";
import { buildDataset, type Dataset } from "../../trainer/src/data/dataset.ts";
import { generateTelco, TELCO_COLUMNS } from "../../trainer/src/data/synthetic.ts";

/** Synthetic Telco customers as a dataset, with some blank MonthlyCharges so imputation is exercised. */
export function telcoDataset(rows: number, seed: number): Dataset {
  const records = generateTelco(rows, seed);
  const columns = TELCO_COLUMNS.map((c) =>
    records.map((r, i) => (c === "MonthlyCharges" && i % 11 === 0 ? "" : r[c])),
  );
  return buildDataset(
    [...TELCO_COLUMNS],
    columns,
    records.map((_, i) => i + 2),
    { target: "Churn", positive: "Yes", drop: ["customerID"] },
  );
}

/** Writes synthetic Telco customers to a CSV file. */
export async function writeTelcoCsv(path: string, rows: number, seed: number): Promise<void> {
  await writeFile(path, toCsv(generateTelco(rows, seed), TELCO_COLUMNS));
}

/** 0..n-1 */
export function range(n: number, start = 0): number[] {
  return Array.from({ length: n }, (_, i) => start + i);
}

/** A CliIo that records what a command writes. */
export function captureIo() {
  const io = { stdout: "", stderr: "" };
  const sink = {
    out: (text: string) => {
      io.stdout += text;
    },
    err: (text: string) => {
      io.stderr += text;
    },
  };
  return { io, sink };
}
