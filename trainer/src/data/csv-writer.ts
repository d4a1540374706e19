/** CSV output: the files the trainer writes (scores, synthetic data, retraining sets) are RFC 4180. */

/** RFC 4180 CSV with a header; fields holding a comma, quote or line break are quoted. */
export function toCsv(rows: readonly Record<string, string>[], columns?: readonly string[]): string {
  const header = columns ?? (rows[0] ? Object.keys(rows[0]) : []);
  const lines = [header.map(quoteCsv).join(",")];
  for (const row of rows) lines.push(header.map((c) => quoteCsv(row[c] ?? "")).join(","));
  return lines.join("\n") + "\n";
}

/** One field, quoted when it holds a separator, quote or line break. */
export function quoteCsv(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}
