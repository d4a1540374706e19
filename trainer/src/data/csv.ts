import { createReadStream } from "node:fs";
import { ChurnError } from "#shared/errors.ts";
import { decodeChunks, type TextEncodingName } from "./text-decoding.ts";

/** One CSV record and the 1-based physical line it starts on (for error messages). */
export interface CsvRecord {
  line: number;
  cells: string[];
  /** Set when the row was made the header's width (see ReadCsvOptions.fitRows). */
  fitted?: "padded" | "trimmed";
}

/** A file path, or chunks of bytes or text: a Node Readable, any (async) iterable, e.g. `[buffer]`. */
export type CsvSource = string | AsyncIterable<Uint8Array | string> | Iterable<Uint8Array | string>;

/** The separators a file is sniffed for, in order of preference when the evidence ties. */
export const SEPARATORS = [",", ";", "\t", "|"] as const;
export type Separator = (typeof SEPARATORS)[number];

/** How a file was read: what the caller gave, or what the reader found. */
export interface CsvDialect {
  separator: Separator;
  /** `utf-8` unless a BOM or the caller said otherwise. */
  encoding: TextEncodingName;
  bom: boolean;
  /** Whether the separator was found by sniffing (false when the caller named it). */
  separatorDetected: boolean;
  lineEndings: "LF" | "CRLF" | "CR" | "none";
}

export interface ReadCsvOptions {
  /** Field separator; sniffed from the first records when absent. */
  separator?: Separator;
  /** Byte encoding; UTF-8 (strict: a byte that is not UTF-8 is an error) unless a BOM says UTF-16. */
  encoding?: TextEncodingName;
  /** Called once, before the first record, with how the file is being read. */
  onDialect?: (dialect: CsvDialect) => void;
  /**
   * Rows with fewer cells than the header are padded with empty cells, and rows whose extra cells are all
   * empty (a trailing separator) are trimmed, as spreadsheets write them; either is marked on the record.
   * A row with more non-empty cells than the header is still an error naming its line.
   */
  fitRows?: boolean;
}

/** Text sniffed for the separator: enough for dozens of records of even wide files. */
const SNIFF_CHARS = 64 * 1024;
/** Records compared when sniffing. */
const SNIFF_RECORDS = 50;

const QUOTE = 34;
const LF = 10;
const CR = 13;

/**
 * Streams RFC 4180 records: quoted fields may hold separators, doubled quotes and line breaks;
 * rows end with LF, CRLF or CR; a BOM is dropped; blank lines are skipped. The separator (`,` `;` tab `|`)
 * is sniffed from the first records unless given, or named by Excel's `sep=;` first line (which is then
 * skipped, and line numbers still count it). Every record must have as many cells as the header,
 * otherwise a ChurnError names the line. An input without any record is an error too.
 */
export async function* readCsv(source: CsvSource, options: ReadCsvOptions = {}): AsyncGenerator<CsvRecord> {
  for await (const records of readCsvChunks(source, options)) yield* records;
}

/**
 * The records of `readCsv`, handed over as they are parsed from each chunk of text (never an empty
 * array). A caller that handles records in bulk pays one await per chunk of hundreds of records
 * instead of one per record, which is most of the cost of reading a large file record by record.
 */
export async function* readCsvChunks(
  source: CsvSource,
  options: ReadCsvOptions = {},
): AsyncGenerator<CsvRecord[]> {
  const input = typeof source === "string" ? createReadStream(source) : source;
  const decoded = decodeChunks(input, options.encoding);
  let parser: CsvParser | undefined;
  let sample = "";
  for await (const text of decoded.texts) {
    if (parser) {
      const records = parser.push(text);
      if (records.length > 0) yield records;
      continue;
    }
    sample += text;
    if (sample.length < SNIFF_CHARS) continue;
    ({ parser, sample } = startParser(sample, decoded.info(), options));
    const records = parser.push(sample);
    if (records.length > 0) yield records;
    sample = "";
  }
  if (!parser) ({ parser, sample } = startParser(sample, decoded.info(), options));
  if (sample !== "") {
    const records = parser.push(sample);
    if (records.length > 0) yield records;
  }
  const last = parser.finish();
  if (last.length > 0) yield last;
}

/** Excel writes `sep=;` as a file's first line when told to; it names the separator and is not data. */
const SEPARATOR_DIRECTIVE = /^\uFEFF?sep=(.)(?:\r\n|\n|\r)/i;

function startParser(
  text: string,
  info: { encoding: TextEncodingName; bom: boolean },
  options: ReadCsvOptions,
): { parser: CsvParser; sample: string } {
  const directive = SEPARATOR_DIRECTIVE.exec(text);
  const named = directive && (SEPARATORS as readonly string[]).includes(directive[1]!) ? directive : null;
  const sample = named ? text.slice(named[0].length) : text;
  const separator = options.separator ?? (named ? (named[1] as Separator) : sniffSeparator(sample));
  options.onDialect?.({
    separator,
    encoding: info.encoding,
    bom: info.bom,
    separatorDetected: options.separator === undefined,
    lineEndings: lineEndingsOf(sample),
  });
  const parser = new CsvParser(separator.charCodeAt(0), {
    fitRows: options.fitRows ?? false,
    firstLine: named ? 2 : 1,
  });
  return { parser, sample };
}

/** Parses a whole CSV text at once; handy for tests and small inputs. */
export async function parseCsvText(text: string, options: ReadCsvOptions = {}): Promise<CsvRecord[]> {
  const out: CsvRecord[] = [];
  for await (const record of readCsv([text], options)) out.push(record);
  return out;
}

/**
 * The separator under which the sample's first records agree best with the header: most records with
 * the header's cell count, then more cells. A separator that leaves the header one cell wide only wins
 * when every one does (a one-column file), and then the comma stands.
 */
export function sniffSeparator(sample: string): Separator {
  let best: { separator: Separator; agreeing: number; width: number } | undefined;
  for (const separator of SEPARATORS) {
    const widths = sampleWidths(sample, separator);
    const width = widths[0] ?? 1;
    if (width < 2) continue;
    const agreeing = widths.filter((w) => w === width).length / widths.length;
    if (!best || agreeing > best.agreeing || (agreeing === best.agreeing && width > best.width)) {
      best = { separator, agreeing, width };
    }
  }
  return best?.separator ?? ",";
}

/** Cell counts of the sample's complete records (the last one may be cut off by the sample's end). */
function sampleWidths(sample: string, separator: Separator): number[] {
  const parser = new CsvParser(separator.charCodeAt(0), { ragged: true });
  try {
    const records = parser.push(sample);
    if (records.length === 0) return parser.finish().map((r) => r.cells.length);
    return records.slice(0, SNIFF_RECORDS).map((r) => r.cells.length);
  } catch {
    // A quote in the wrong place under this separator: it is not the file's.
    return [];
  }
}

function lineEndingsOf(sample: string): CsvDialect["lineEndings"] {
  const lf = sample.indexOf("\n");
  const cr = sample.indexOf("\r");
  if (cr >= 0 && (lf < 0 || cr < lf)) return sample[cr + 1] === "\n" ? "CRLF" : "CR";
  return lf >= 0 ? "LF" : "none";
}

/** Incremental state machine; chunks may split anywhere, even inside a CRLF or a doubled quote. */
class CsvParser {
  private cells: string[] = [];
  private field = "";
  private inQuotes = false;
  /** Inside a quoted field we just saw a quote: either an escaped quote or the closing one. */
  private quotePending = false;
  /** The current field was quoted and is closed; only a delimiter may follow. */
  private fieldClosed = false;
  private fieldWasQuoted = false;
  private lastFieldWasQuoted = false;
  /** A CR ended the last row; swallow an LF that immediately follows it. */
  private afterCR = false;
  private line = 1;
  private recordLine = 1;
  private quoteLine = 1;
  private width: number | undefined;
  private started = false;
  private records = 0;
  private readonly separator: number;
  /** Sniffing: records of any width are returned as they are. */
  private readonly ragged: boolean;
  private readonly fitRows: boolean;

  constructor(separator: number, options: { ragged?: boolean; fitRows?: boolean; firstLine?: number } = {}) {
    this.separator = separator;
    this.line = options.firstLine ?? 1;
    this.recordLine = this.line;
    this.ragged = options.ragged ?? false;
    this.fitRows = options.fitRows ?? false;
  }

  push(text: string): CsvRecord[] {
    const out: CsvRecord[] = [];
    const separator = this.separator;
    let start = 0;
    if (!this.started && text.length > 0) {
      this.started = true;
      if (text.charCodeAt(0) === 0xfeff) start = 1;
    }
    // `runStart` marks plain characters not yet appended to `field`, to avoid per-character concatenation.
    let runStart = start;
    for (let i = start; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (this.afterCR) {
        this.afterCR = false;
        if (c === LF) {
          runStart = i + 1;
          continue;
        }
      }
      if (this.inQuotes) {
        if (this.quotePending) {
          this.quotePending = false;
          if (c === QUOTE) {
            this.field += '"';
            runStart = i + 1;
            continue;
          }
          this.inQuotes = false;
          this.fieldClosed = true;
          runStart = i;
          // fall through: `c` is the first character after the closing quote
        } else {
          if (c === QUOTE) {
            this.field += text.slice(runStart, i);
            this.quotePending = true;
            runStart = i + 1;
          } else if (c === LF) {
            this.line++;
          }
          continue;
        }
      }
      if (c === separator || c === LF || c === CR) {
        if (!this.fieldClosed) this.field += text.slice(runStart, i);
        this.endField();
        if (c !== separator) {
          const record = this.endRecord();
          if (record) out.push(record);
          this.line++;
          this.recordLine = this.line;
          this.afterCR = c === CR;
        }
        runStart = i + 1;
        continue;
      }
      if (this.fieldClosed) {
        // Spaces after a closing quote (`"a" ;"b"`) are padding some producers write; anything else is not.
        if (c === 32) {
          runStart = i + 1;
          continue;
        }
        throw new ChurnError(
          "INVALID_REQUEST",
          `CSV line ${this.line}: unexpected character ${JSON.stringify(text[i])} after a closing quote`,
        );
      }
      if (c === QUOTE && i === runStart && this.field === "") {
        this.inQuotes = true;
        this.fieldWasQuoted = true;
        this.quoteLine = this.line;
        runStart = i + 1;
      }
      // Any other quote inside an unquoted field is kept literally, as most producers expect.
    }
    if (this.inQuotes) {
      if (!this.quotePending) this.field += text.slice(runStart);
    } else if (!this.fieldClosed) {
      this.field += text.slice(runStart);
    }
    return out;
  }

  finish(): CsvRecord[] {
    if (this.inQuotes && !this.quotePending) {
      throw new ChurnError(
        "INVALID_REQUEST",
        `CSV line ${this.quoteLine}: quoted field is never closed (missing closing quote)`,
      );
    }
    this.inQuotes = false;
    const out: CsvRecord[] = [];
    if (this.cells.length > 0 || this.field !== "" || this.fieldWasQuoted || this.quotePending) {
      this.quotePending = false;
      this.endField();
      const record = this.endRecord();
      if (record) out.push(record);
    }
    if (this.records === 0)
      throw new ChurnError("INVALID_REQUEST", "CSV input is empty: expected a header row");
    return out;
  }

  private endField(): void {
    this.cells.push(this.field);
    this.lastFieldWasQuoted = this.fieldWasQuoted;
    this.field = "";
    this.fieldClosed = false;
    this.fieldWasQuoted = false;
  }

  private endRecord(): CsvRecord | undefined {
    const cells = this.cells;
    this.cells = [];
    // A blank line (one empty, unquoted cell) carries no data.
    if (cells.length === 1 && cells[0] === "" && !this.lastFieldWasQuoted) return undefined;
    let fitted: CsvRecord["fitted"];
    if (this.width === undefined || this.ragged) {
      this.width ??= cells.length;
    } else if (this.fitRows && cells.length < this.width) {
      while (cells.length < this.width) cells.push("");
      fitted = "padded";
    } else if (
      this.fitRows &&
      cells.length > this.width &&
      cells.slice(this.width).every((c) => c.trim() === "")
    ) {
      cells.length = this.width;
      fitted = "trimmed";
    } else if (cells.length !== this.width) {
      throw new ChurnError(
        "INVALID_REQUEST",
        `CSV line ${this.recordLine}: expected ${this.width} cells (as in the header) but found ${cells.length}`,
      );
    }
    this.records++;
    return fitted ? { line: this.recordLine, cells, fitted } : { line: this.recordLine, cells };
  }
}
