import { ChurnError } from "#shared/errors.ts";

/** Encodings a data file may be read in; `latin1` is read as Windows-1252, its common superset. */
export const TEXT_ENCODINGS = ["utf-8", "latin1", "utf-16le", "utf-16be"] as const;
export type TextEncodingName = (typeof TEXT_ENCODINGS)[number];

export interface DecodedText {
  /** The text, chunk by chunk, with any BOM left in place for the CSV parser to drop. */
  texts: AsyncIterable<string>;
  /** What was used, known once the first chunk has been read. */
  info(): { encoding: TextEncodingName; bom: boolean };
}

const LF = 10;

/**
 * Decodes byte chunks as text. A BOM decides the encoding (UTF-8, UTF-16 LE or BE); otherwise the caller's
 * choice, UTF-8 by default, where a byte sequence that is not UTF-8 is an error naming its line and the way
 * out (`--encoding latin1`), never silently replaced. Chunks that are already strings pass through.
 */
export function decodeChunks(
  input: AsyncIterable<Uint8Array | string> | Iterable<Uint8Array | string>,
  requested: TextEncodingName | undefined,
): DecodedText {
  let encoding: TextEncodingName = requested ?? "utf-8";
  let bom = false;
  async function* texts(): AsyncGenerator<string> {
    let decoder: InstanceType<typeof TextDecoder> | undefined;
    let head: Uint8Array | undefined;
    let lines = 1;
    const decode = (bytes: Uint8Array, stream: boolean): string => {
      try {
        return decoder!.decode(bytes, { stream });
      } catch (cause) {
        const at = firstInvalidUtf8(bytes);
        throw new ChurnError(
          "INVALID_REQUEST",
          `The data file is not UTF-8: byte 0x${(bytes[at] ?? 0).toString(16).padStart(2, "0").toUpperCase()} on line ${lines + countLf(bytes, at)} is not valid UTF-8. It is probably Latin-1 or Windows-1252 (an Excel export); pass --encoding latin1, or save it as UTF-8`,
          { cause },
        );
      }
    };
    for await (const chunk of input) {
      if (typeof chunk === "string") {
        yield chunk;
        continue;
      }
      let bytes = chunk;
      if (!decoder) {
        // A BOM is up to 3 bytes: wait for them, however finely the input is chunked.
        bytes = head ? concat(head, chunk) : chunk;
        if (bytes.length < 3) {
          head = bytes;
          continue;
        }
        head = undefined;
        decoder = openDecoder(bytes);
      }
      const text = decode(bytes, true);
      lines += countLf(bytes, bytes.length);
      if (text !== "") yield text;
    }
    if (head) decoder = openDecoder(head);
    if (decoder) {
      const rest = decode(head ?? new Uint8Array(0), false);
      if (rest !== "") yield rest;
    }
  }
  function openDecoder(first: Uint8Array): InstanceType<typeof TextDecoder> {
    const fromBom = bomEncoding(first);
    if (fromBom) {
      encoding = fromBom;
      bom = true;
    }
    const label = encoding === "latin1" ? "windows-1252" : encoding;
    // ignoreBOM keeps the BOM as U+FEFF, which the CSV parser drops; `fatal` refuses bytes that are not text.
    return new TextDecoder(label, { fatal: encoding === "utf-8", ignoreBOM: true });
  }
  return { texts: texts(), info: () => ({ encoding, bom }) };
}

function bomEncoding(bytes: Uint8Array): TextEncodingName | undefined {
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) return "utf-8";
  if (bytes[0] === 0xff && bytes[1] === 0xfe) return "utf-16le";
  if (bytes[0] === 0xfe && bytes[1] === 0xff) return "utf-16be";
  return undefined;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

function countLf(bytes: Uint8Array, end: number): number {
  let n = 0;
  for (let i = bytes.indexOf(LF); i >= 0 && i < end; i = bytes.indexOf(LF, i + 1)) n++;
  return n;
}

/** Index of the first byte that starts no valid UTF-8 sequence (continuations at the start are skipped). */
export function firstInvalidUtf8(bytes: Uint8Array): number {
  let i = 0;
  while (i < bytes.length && (bytes[i]! & 0xc0) === 0x80) i++;
  while (i < bytes.length) {
    const b = bytes[i]!;
    const length =
      b < 0x80 ? 1 : b >= 0xc2 && b < 0xe0 ? 2 : b >= 0xe0 && b < 0xf0 ? 3 : b >= 0xf0 && b < 0xf5 ? 4 : 0;
    if (length === 0) return i;
    for (let k = 1; k < length; k++) {
      // A sequence cut off by the chunk's end is completed by the next chunk.
      if (i + k >= bytes.length) return bytes.length;
      if ((bytes[i + k]! & 0xc0) !== 0x80) return i;
    }
    i += length;
  }
  return bytes.length;
}
