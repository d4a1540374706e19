/**
 * Minimal protocol-buffers reader: the four wire types ONNX uses (varint, fixed64, length-delimited,
 * fixed32). It reads untrusted bytes, so every length is checked against the enclosing message and
 * anything it cannot read is a `ProtoError`, never an out-of-bounds read or a silent stop.
 */

export const WIRE = { VARINT: 0, FIXED64: 1, LENGTH_DELIMITED: 2, FIXED32: 5 } as const;

/** Bytes that are not a well-formed protobuf message; callers turn it into their own error. */
export class ProtoError extends Error {
  override name = "ProtoError";
}

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

export class ProtoReader {
  readonly #bytes: Uint8Array;
  #pos: number;
  readonly #end: number;

  constructor(bytes: Uint8Array, start = 0, end = bytes.length) {
    this.#bytes = bytes;
    this.#pos = start;
    this.#end = end;
  }

  done(): boolean {
    return this.#pos >= this.#end;
  }

  /** Where the next field starts, as an index into the bytes given to the constructor. */
  offset(): number {
    return this.#pos;
  }

  tag(): { field: number; wireType: number } {
    const key = this.varint();
    const field = Math.floor(key / 8);
    if (field === 0) throw new ProtoError("field number 0");
    return { field, wireType: key % 8 };
  }

  /**
   * An unsigned varint as a number. Values past 2^53 lose precision but stay huge, which is all a bound
   * check needs; `int64` reads the same bytes as a signed value.
   */
  varint(): number {
    let value = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      if (this.#pos >= this.#end) throw new ProtoError("truncated varint");
      const byte = this.#bytes[this.#pos++]!;
      value += (byte & 0x7f) * scale;
      if (byte < 0x80) return value;
      scale *= 128;
    }
    throw new ProtoError("varint longer than 10 bytes");
  }

  /** A two's-complement int64 (negative values take ten bytes), as a number. */
  int64(): number {
    const start = this.#pos;
    const unsigned = this.varint();
    if (this.#pos - start < 10) return unsigned;
    let big = 0n;
    for (let i = this.#pos - 1; i >= start; i--) big = (big << 7n) | BigInt(this.#bytes[i]! & 0x7f);
    return Number(BigInt.asIntN(64, big));
  }

  float(): number {
    const at = this.#advance(4);
    return new DataView(this.#bytes.buffer, this.#bytes.byteOffset + at, 4).getFloat32(0, true);
  }

  /** The payload of a length-delimited field, as a view into the same bytes. */
  bytes(): Uint8Array {
    const length = this.varint();
    const at = this.#advance(length);
    return this.#bytes.subarray(at, at + length);
  }

  string(): string {
    try {
      return utf8.decode(this.bytes());
    } catch (err) {
      if (err instanceof ProtoError) throw err;
      throw new ProtoError("string field is not valid UTF-8");
    }
  }

  /** A nested message: a reader over its bytes only. */
  message(): ProtoReader {
    const length = this.varint();
    const at = this.#advance(length);
    return new ProtoReader(this.#bytes, at, at + length);
  }

  skip(wireType: number): void {
    if (wireType === WIRE.VARINT) this.varint();
    else if (wireType === WIRE.FIXED64) this.#advance(8);
    else if (wireType === WIRE.LENGTH_DELIMITED) this.bytes();
    else if (wireType === WIRE.FIXED32) this.#advance(4);
    // Groups (3, 4) are proto2 relics that onnx.proto never uses; 6 and 7 do not exist.
    else throw new ProtoError(`unsupported wire type ${wireType}`);
  }

  #advance(length: number): number {
    const at = this.#pos;
    if (length > this.#end - at) throw new ProtoError("field runs past the end of its message");
    this.#pos = at + length;
    return at;
  }
}

/**
 * Counts a repeated scalar field's values, packed (one length-delimited run) or not (one tag per value);
 * protobuf parsers accept both, so both are read. `width` is 4 or 8 for fixed-size values, 0 for varints.
 */
export function countPacked(payload: Uint8Array, width: 0 | 4 | 8): number {
  if (width > 0) {
    if (payload.length % width !== 0)
      throw new ProtoError("packed field length is not a multiple of its width");
    return payload.length / width;
  }
  let count = 0;
  for (const byte of payload) if (byte < 0x80) count++;
  if (payload.length > 0 && payload[payload.length - 1]! >= 0x80)
    throw new ProtoError("truncated packed varint");
  return count;
}

/** Decodes a packed run of int64 varints. */
export function readPackedInt64s(payload: Uint8Array): number[] {
  const reader = new ProtoReader(payload);
  const out: number[] = [];
  while (!reader.done()) out.push(reader.int64());
  return out;
}
