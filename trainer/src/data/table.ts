import { type CellReader, cellReader, type DecimalMark, sniffDecimalMark } from "./cells.ts";
import { type CsvDialect, type CsvRecord, type CsvSource, readCsvChunks, type Separator } from "./csv.ts";
import type { TextEncodingName } from "./text-decoding.ts";

/** How to read a data file; whatever is left out is found from the file itself. */
export interface TableOptions {
  separator?: Separator | undefined;
  encoding?: TextEncodingName | undefined;
  decimal?: DecimalMark | undefined;
  /** Missing-value markers beyond the defaults. */
  naValues?: readonly string[] | undefined;
}

/** An opened CSV: its header, how it is written, and its data records still to stream. */
export interface Table {
  header: string[];
  dialect: CsvDialect;
  /** Reads cells with the file's decimal mark and missing-value markers. */
  reader: CellReader;
  /** The data records one by one. Iterate this or `chunks`, once: both draw on the same stream. */
  records: AsyncIterable<CsvRecord>;
  /** The same records in the runs the parser produced them, for callers that work in bulk. */
  chunks: AsyncIterable<CsvRecord[]>;
}

/** Records read ahead to sniff the decimal mark before any cell is parsed. */
const DECIMAL_SNIFF_RECORDS = 1000;

/**
 * Opens a CSV for streaming: reads the header and the first records (to sniff the separator and the
 * decimal mark), then hands back iterables that yield every data record once, those included.
 */
export async function openTable(source: CsvSource, options: TableOptions = {}): Promise<Table> {
  let dialect: CsvDialect | undefined;
  const iterator = readCsvChunks(source, {
    ...(options.separator ? { separator: options.separator } : {}),
    ...(options.encoding ? { encoding: options.encoding } : {}),
    fitRows: true,
    onDialect: (d) => {
      dialect = d;
    },
  })[Symbol.asyncIterator]();
  // readCsv throws on an empty input, so a first record always exists.
  const first = (await iterator.next()).value as CsvRecord[];
  const header = first[0]!.cells;
  let ahead = first.slice(1);
  let done = false;
  while (ahead.length < DECIMAL_SNIFF_RECORDS) {
    const next = await iterator.next();
    if (next.done) {
      done = true;
      break;
    }
    ahead = ahead.concat(next.value);
  }
  const decimal =
    options.decimal ?? sniffDecimalMark(ahead.slice(0, DECIMAL_SNIFF_RECORDS), dialect!.separator);
  async function* chunks(): AsyncGenerator<CsvRecord[]> {
    if (ahead.length > 0) yield ahead;
    ahead = [];
    if (done) return;
    for (let next = await iterator.next(); !next.done; next = await iterator.next()) yield next.value;
  }
  const runs = chunks();
  async function* records(): AsyncGenerator<CsvRecord> {
    for await (const run of runs) yield* run;
  }
  return {
    header,
    dialect: dialect!,
    reader: cellReader({ decimal, naValues: options.naValues }),
    records: records(),
    chunks: runs,
  };
}
