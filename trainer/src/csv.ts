import { createReadStream } from "node:fs";
import { ChurnError } from "../../shared/src/errors.ts";

/** One CSV record and the 1-based physical line it starts on (for error messages). */
export interface CsvRecord {
  line: number;
  cells: string[];
}

/** A file path, or chunks of bytes or text: a Node Readable, any (async) iterable, e.g. `[buffer]`. */
export type CsvSource = string | AsyncIterable<Uint8Array | string> | Iterable<Uint8Array | string>;

const QUOTE = 34;
const COMMA = 44;
const LF = 10;
const CR = 13;

/**
 * Streams RFC 4180 records: quoted fields may hold commas, doubled quotes and line breaks;
 * rows end with LF, CRLF or CR; a leading BOM is dropped; blank lines are skipped.
 * Every record must have as many cells as the first (the header), otherwise a ChurnError
 * names the line. An input without any record is an error too.
 */
export async function* readCsv(source: CsvSource): AsyncGenerator<CsvRecord> {
  const parser = new CsvParser();
  const decoder = new TextDecoder("utf-8");
  const input = typeof source === "string" ? createReadStream(source) : source;
  for await (const chunk of input) {
    const text = typeof chunk === "string" ? chunk : decoder.decode(chunk, { stream: true });
    yield* parser.push(text);
  }
  yield* parser.push(decoder.decode());
  yield* parser.finish();
}

/** Parses a whole CSV text at once; handy for tests and small inputs. */
export async function parseCsvText(text: string): Promise<CsvRecord[]> {
  const out: CsvRecord[] = [];
  for await (const record of readCsv([text])) out.push(record);
  return out;
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

  push(text: string): CsvRecord[] {
    const out: CsvRecord[] = [];
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
      if (c === COMMA || c === LF || c === CR) {
        if (!this.fieldClosed) this.field += text.slice(runStart, i);
        this.endField();
        if (c !== COMMA) {
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
    if (this.width === undefined) {
      this.width = cells.length;
    } else if (cells.length !== this.width) {
      throw new ChurnError(
        "INVALID_REQUEST",
        `CSV line ${this.recordLine}: expected ${this.width} cells (as in the header) but found ${cells.length}`,
      );
    }
    this.records++;
    return { line: this.recordLine, cells };
  }
}
