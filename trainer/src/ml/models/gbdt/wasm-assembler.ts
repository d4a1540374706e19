/**
 * Just enough of a WebAssembly encoder to write the GBDT kernels (kernels.ts) as folded expressions in
 * TypeScript: integer and float arithmetic, loads and stores, loops and branches, calls, and the few SIMD
 * and bulk-memory instructions the kernels use. The module is built in memory when first needed, so there
 * is no build step, no toolchain and no binary in the repository. Every memory address is a byte offset
 * into one imported, shared memory.
 */

/** Encoded instructions: a whole expression leaves its value on the stack. */
export type Code = number[];

export const I32 = 0x7f;
export const F32 = 0x7d;
export const F64 = 0x7c;
export const V128 = 0x7b;
export type ValueType = typeof I32 | typeof F32 | typeof F64 | typeof V128;

function uleb(value: number): number[] {
  const out: number[] = [];
  let n = value >>> 0;
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return out;
}

function sleb(value: number): number[] {
  const out: number[] = [];
  let n = value | 0;
  for (;;) {
    const byte = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (byte & 0x40) === 0) || (n === -1 && (byte & 0x40) !== 0)) {
      out.push(byte);
      return out;
    }
    out.push(byte | 0x80);
  }
}

const binary =
  (opcode: number) =>
  (a: Code, b: Code): Code => [...a, ...b, opcode];
/** A memory access: alignment hint (log2 bytes) and a constant offset. */
const memarg = (alignLog2: number, offset: number) => [alignLog2, ...uleb(offset)];
const simd = (opcode: number, ...immediates: number[]) => [0xfd, ...uleb(opcode), ...immediates];

export const get = (local: number): Code => [0x20, ...uleb(local)];
export const set = (local: number, value: Code): Code => [...value, 0x21, ...uleb(local)];
export const i32 = (value: number): Code => [0x41, ...sleb(value)];
export const add = binary(0x6a);
export const sub = binary(0x6b);
export const and = binary(0x71);
export const xor = binary(0x73);
export const shl = binary(0x74);
export const shrU = binary(0x76);
const geU = binary(0x4f);
export const gtU = binary(0x4b);
export const f32Eq = binary(0x5b);
export const f32Lt = binary(0x5d);
export const f64Add = binary(0xa0);
/** `condition ? a : b` without a branch (both are evaluated). */
export const select = (a: Code, b: Code, condition: Code): Code => [...a, ...b, ...condition, 0x1b];

export const load8 = (address: Code, offset = 0): Code => [...address, 0x2d, ...memarg(0, offset)];
export const load32 = (address: Code, offset = 0): Code => [...address, 0x28, ...memarg(2, offset)];
export const loadF32 = (address: Code, offset = 0): Code => [...address, 0x2a, ...memarg(2, offset)];
export const load64 = (address: Code): Code => [...address, 0x29, ...memarg(3, 0)];
export const loadF64 = (address: Code): Code => [...address, 0x2b, ...memarg(3, 0)];
export const storeF64 = (address: Code, value: Code): Code => [...address, ...value, 0x39, ...memarg(3, 0)];
export const store8 = (address: Code, value: Code): Code => [...address, ...value, 0x3a, ...memarg(0, 0)];
export const store32 = (address: Code, value: Code): Code => [...address, ...value, 0x36, ...memarg(2, 0)];
export const store64 = (address: Code, value: Code): Code => [...address, ...value, 0x37, ...memarg(3, 0)];
/** memory.copy: `bytes` bytes from `source` to `target` (overlap allowed). */
export const memoryCopy = (target: Code, source: Code, bytes: Code): Code => [
  ...target,
  ...source,
  ...bytes,
  0xfc,
  10,
  0,
  0,
];

/** memory.fill: `bytes` bytes at `target` set to the low byte of `value`. */
export const memoryFill = (target: Code, value: Code, bytes: Code): Code => [
  ...target,
  ...value,
  ...bytes,
  0xfc,
  11,
  0,
];

export const v128Zero: Code = simd(0x0c, ...new Array<number>(16).fill(0));
export const v128Load = (address: Code): Code => [...address, ...simd(0x00, ...memarg(4, 0))];
export const v128Store = (address: Code, value: Code): Code => [
  ...address,
  ...value,
  ...simd(0x0b, ...memarg(4, 0)),
];
/** Eight bytes into the low half of a vector, zeros above: one (float32, float32) pair. */
export const v128Load64Zero = (address: Code, offset = 0): Code => [
  ...address,
  ...simd(0x5d, ...memarg(3, offset)),
];
/** The low two float32 lanes widened (exactly) to two float64 lanes. */
export const f64x2PromoteLow = (value: Code): Code => [...value, ...simd(0x5f)];
export const f64x2Add = (a: Code, b: Code): Code => [...a, ...b, ...simd(0xf0)];
export const f64x2Sub = (a: Code, b: Code): Code => [...a, ...b, ...simd(0xf1)];

/** `for (local = from; local < to; local += step) body` (unsigned compare; `to` is re-read each pass). */
export function forRange(local: number, from: Code, to: Code, body: Code[], step = 1): Code {
  return [
    ...set(local, from),
    ...[0x02, 0x40], // block
    ...[0x03, 0x40], // loop
    ...geU(get(local), to),
    ...[0x0d, 1], // br_if out of the block
    ...body.flat(),
    ...set(local, add(get(local), i32(step))),
    ...[0x0c, 0], // br to the loop head
    ...[0x0b, 0x0b], // end loop, end block
  ];
}

export interface WasmFunction {
  name: string;
  /** Parameter types: locals 0 .. params.length - 1. */
  params: ValueType[];
  result?: ValueType;
  /** Types of further locals, numbered after the parameters. */
  locals: ValueType[];
  body: Code[];
}

/** `count` i32 parameters. */
export const i32Params = (count: number): ValueType[] => new Array<ValueType>(count).fill(I32);

/** A module importing `env.memory` (shared, up to 4 GiB) and exporting the given functions. */
export function assembleModule(functions: readonly WasmFunction[]): Uint8Array<ArrayBuffer> {
  const vector = (items: number[][]) => [...uleb(items.length), ...items.flat()];
  const name = (text: string) => {
    const bytes = [...new TextEncoder().encode(text)];
    return [...uleb(bytes.length), ...bytes];
  };
  const section = (id: number, content: number[]) => [id, ...uleb(content.length), ...content];
  const types = vector(
    functions.map((f) => [
      0x60,
      ...vector(f.params.map((type) => [type])),
      ...vector(f.result === undefined ? [] : [[f.result]]),
    ]),
  );
  // Memory limits flag 3: shared, with a maximum (65536 pages of 64 KiB).
  const imports = vector([[...name("env"), ...name("memory"), 0x02, 0x03, ...uleb(1), ...uleb(65536)]]);
  const declarations = vector(functions.map((_, i) => uleb(i)));
  const exports = vector(functions.map((f, i) => [...name(f.name), 0x00, ...uleb(i)]));
  const bodies = vector(
    functions.map((f) => {
      const body = [...vector(f.locals.map((type) => [1, type])), ...f.body.flat(), 0x0b];
      return [...uleb(body.length), ...body];
    }),
  );
  return Uint8Array.from([
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    ...section(1, types),
    ...section(2, imports),
    ...section(3, declarations),
    ...section(7, exports),
    ...section(10, bodies),
  ]);
}
