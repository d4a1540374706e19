import { type WasmMemory, wasm } from "./memory.ts";
import {
  add,
  and,
  assembleModule,
  type Code,
  F32,
  F64,
  f32Eq,
  f32Lt,
  f64Add,
  f64x2Add,
  f64x2PromoteLow,
  f64x2Sub,
  forRange,
  get,
  gtU,
  I32,
  i32,
  i32Params,
  load8,
  load32,
  load64,
  loadF32,
  loadF64,
  memoryCopy,
  memoryFill,
  select,
  set,
  shl,
  shrU,
  store8,
  store32,
  store64,
  storeF64,
  sub,
  V128,
  type ValueType,
  v128Load,
  v128Load64Zero,
  v128Store,
  v128Zero,
  type WasmFunction,
  xor,
} from "./wasm-assembler.ts";

/**
 * The GBDT's inner loops as WebAssembly, on the training memory (memory.ts) that every thread shares.
 * Histogram slots are float64 (gradient, hessian) pairs updated as one SIMD vector: one load, one add,
 * one store per row and column, where JavaScript needs two of each plus bounds checks; with a row's
 * float32 pair widened once for four columns this builds histograms about twice as fast. Sums are the
 * same IEEE float64 additions in the same row order as the JavaScript reference (histogram.ts), so the
 * trees are identical.
 *
 * All arguments are i32; pointers are byte offsets into the shared memory.
 */
export interface Kernels {
  /** `out[i] = gradHess[index[i]]` (8-byte pairs) for i in [start, end). */
  gather(index: number, gradHess: number, out: number, start: number, end: number): void;
  /**
   * Adds the gathered pairs of rows `index[start..end)` into four columns' histogram slots: `bins*` are the
   * columns' bin bytes (indexed by row), `hist*` the byte offsets of their first slots.
   */
  histogram4(
    bins0: number,
    bins1: number,
    bins2: number,
    bins3: number,
    hist0: number,
    hist1: number,
    hist2: number,
    hist3: number,
    index: number,
    start: number,
    end: number,
    gathered: number,
  ): void;
  /** `histogram4` for one to three columns: the bins pointers, then the hist pointers, then the rest. */
  histogram1(bins: number, hist: number, index: number, start: number, end: number, gathered: number): void;
  histogram2(...args: number[]): void;
  histogram3(...args: number[]): void;
  /**
   * Stable partition of `index[start..end)` by `side[bins[row]]` (1 = left), through `scratch[start..end)`.
   * Returns the position where the right rows begin.
   */
  partition(index: number, scratch: number, start: number, end: number, bins: number, side: number): number;
  /**
   * Sums the float32 pairs `pairs[0..count)` in order into two float64 (gradient, hessian) at `out`:
   * the same additions as a plain loop, two lanes at a time.
   */
  sumPairs(pairs: number, count: number, out: number): void;
  /** `index[i] = i` for i in [0, count). */
  sequence(index: number, count: number): void;
  /** Adds the float64 at `value` to `margin[index[i]]` (float64) for i in [start, end). */
  addToMargins(index: number, margin: number, start: number, end: number, value: number): void;
  /** Zeroes `bytes` bytes at `target`. */
  zero(target: number, bytes: number): void;
  /** `target = parent - child` over `bytes` bytes of float64 slots (target may be parent). */
  subtract(target: number, parent: number, child: number, bytes: number): void;
  /**
   * Bins float32 `values[0..rows)` into bytes: the first of 256 ascending float32 `edges` (padded with
   * +Infinity) that is >= x, capped at `lastBin`; NaN goes to `missingBin`.
   */
  binColumn(
    values: number,
    rows: number,
    edges: number,
    lastBin: number,
    missingBin: number,
    out: number,
  ): void;
}

// Locals are numbered: parameters first, then the declared locals in order.
const gather: WasmFunction = (() => {
  const [index, gradHess, out, start, end, i] = [0, 1, 2, 3, 4, 5];
  return {
    name: "gather",
    params: i32Params(5),
    locals: [I32],
    body: [
      forRange(i, get(start), get(end), [
        store64(
          add(get(out), shl(get(i), i32(3))),
          load64(add(get(gradHess), shl(load32(add(get(index), shl(get(i), i32(2)))), i32(3)))),
        ),
      ]),
    ],
  };
})();

/** Rows per pass of the histogram kernels' main loop. */
const UNROLL = 4;

/**
 * Histogram kernel over `columns` columns: params bins*, hist*, index, start, end, gathered. The main loop
 * takes four rows per pass (about 10% faster: more independent work per pass), a second loop the last few.
 * Each pass adds its rows in row order, so every slot still sums its rows in index order.
 */
function histogramKernel(name: string, columns: number): WasmFunction {
  const bins = (k: number) => k;
  const hist = (k: number) => columns + k;
  const [index, start, end, gathered] = [2 * columns, 2 * columns + 1, 2 * columns + 2, 2 * columns + 3];
  const [i, unrolledEnd, slot] = [2 * columns + 4, 2 * columns + 5, 2 * columns + 6];
  const row = (u: number) => 2 * columns + 7 + u;
  const pair = (u: number) => 2 * columns + 7 + UNROLL + u;
  const rows = (count: number): Code[] => [
    ...Array.from({ length: count }, (_, u) => [
      ...set(row(u), load32(add(get(index), shl(get(i), i32(2))), 4 * u)),
      ...set(pair(u), f64x2PromoteLow(v128Load64Zero(add(get(gathered), shl(get(i), i32(3))), 8 * u))),
    ]),
    ...Array.from({ length: count * columns }, (_, n) => {
      const [u, k] = [Math.floor(n / columns), n % columns];
      return [
        ...set(slot, add(get(hist(k)), shl(load8(add(get(bins(k)), get(row(u)))), i32(4)))),
        ...v128Store(get(slot), f64x2Add(v128Load(get(slot)), get(pair(u)))),
      ];
    }),
  ];
  return {
    name,
    params: i32Params(2 * columns + 4),
    locals: [
      I32,
      I32,
      I32,
      ...new Array<ValueType>(UNROLL).fill(I32),
      ...new Array<ValueType>(UNROLL).fill(V128),
    ],
    body: [
      set(unrolledEnd, sub(get(end), and(sub(get(end), get(start)), i32(UNROLL - 1)))),
      forRange(i, get(start), get(unrolledEnd), rows(UNROLL), UNROLL),
      forRange(i, get(unrolledEnd), get(end), rows(1)),
    ],
  };
}

/**
 * Branch-free: every row is written to both the left cursor (in place, never ahead of the read) and the
 * right cursor in scratch, and only its side's cursor advances, since a branch would be mispredicted about
 * half the time. The right rows are then copied after the left ones.
 */
const partition: WasmFunction = (() => {
  const [index, scratch, start, end, bins, side] = [0, 1, 2, 3, 4, 5];
  const [i, row, left, leftAt, rightAt, rightFrom] = [6, 7, 8, 9, 10, 11];
  return {
    name: "partition",
    params: i32Params(6),
    result: I32,
    locals: [I32, I32, I32, I32, I32, I32],
    body: [
      set(leftAt, add(get(index), shl(get(start), i32(2)))),
      set(rightFrom, add(get(scratch), shl(get(start), i32(2)))),
      set(rightAt, get(rightFrom)),
      forRange(i, get(start), get(end), [
        set(row, load32(add(get(index), shl(get(i), i32(2))))),
        set(left, load8(add(get(side), load8(add(get(bins), get(row)))))),
        store32(get(leftAt), get(row)),
        store32(get(rightAt), get(row)),
        set(leftAt, add(get(leftAt), shl(get(left), i32(2)))),
        set(rightAt, add(get(rightAt), shl(xor(get(left), i32(1)), i32(2)))),
      ]),
      memoryCopy(get(leftAt), get(rightFrom), sub(get(rightAt), get(rightFrom))),
      shrU(sub(get(leftAt), get(index)), i32(2)),
    ],
  };
})();

const sumPairs: WasmFunction = (() => {
  const [pairs, count, out, i, sum] = [0, 1, 2, 3, 4];
  return {
    name: "sumPairs",
    params: i32Params(3),
    locals: [I32, V128],
    body: [
      set(sum, v128Zero),
      forRange(i, i32(0), get(count), [
        set(sum, f64x2Add(get(sum), f64x2PromoteLow(v128Load64Zero(add(get(pairs), shl(get(i), i32(3))))))),
      ]),
      v128Store(get(out), get(sum)),
    ],
  };
})();

const sequence: WasmFunction = {
  name: "sequence",
  params: i32Params(2),
  locals: [I32],
  body: [forRange(2, i32(0), get(1), [store32(add(get(0), shl(get(2), i32(2))), get(2))])],
};

const addToMargins: WasmFunction = (() => {
  const [index, margin, start, end, value, i, v, at] = [0, 1, 2, 3, 4, 5, 6, 7];
  return {
    name: "addToMargins",
    params: i32Params(5),
    locals: [I32, F64, I32],
    body: [
      set(v, loadF64(get(value))),
      forRange(i, get(start), get(end), [
        set(at, add(get(margin), shl(load32(add(get(index), shl(get(i), i32(2)))), i32(3)))),
        storeF64(get(at), f64Add(loadF64(get(at)), get(v))),
      ]),
    ],
  };
})();

const zero: WasmFunction = {
  name: "zero",
  params: i32Params(2),
  locals: [],
  body: [memoryFill(get(0), i32(0), get(1))],
};

const subtract: WasmFunction = (() => {
  const [target, parent, child, bytes, at] = [0, 1, 2, 3, 4];
  return {
    name: "subtract",
    params: i32Params(4),
    locals: [I32],
    body: [
      forRange(
        at,
        i32(0),
        get(bytes),
        [
          v128Store(
            add(get(target), get(at)),
            f64x2Sub(v128Load(add(get(parent), get(at))), v128Load(add(get(child), get(at)))),
          ),
        ],
        16,
      ),
    ],
  };
})();

/**
 * Branch-free binary search: eight steps over the 256 padded edges, each adding its step when the edge
 * just below is < x, which counts the edges < x. A branching search mispredicts about half its steps.
 */
const binColumn: WasmFunction = (() => {
  const [values, rows, edges, lastBin, missingBin, out] = [0, 1, 2, 3, 4, 5];
  const [r, x, bin] = [6, 7, 8];
  const step = (size: number): Code =>
    set(
      bin,
      add(
        get(bin),
        select(
          i32(size),
          i32(0),
          f32Lt(loadF32(add(get(edges), shl(get(bin), i32(2))), (size - 1) * 4), get(x)),
        ),
      ),
    );
  return {
    name: "binColumn",
    params: i32Params(6),
    locals: [I32, F32, I32],
    body: [
      forRange(r, i32(0), get(rows), [
        set(x, loadF32(add(get(values), shl(get(r), i32(2))))),
        set(bin, i32(0)),
        ...[128, 64, 32, 16, 8, 4, 2, 1].map(step),
        set(bin, select(get(lastBin), get(bin), gtU(get(bin), get(lastBin)))),
        store8(add(get(out), get(r)), select(get(bin), get(missingBin), f32Eq(get(x), get(x)))),
      ]),
    ],
  };
})();

let compiled: object | undefined;

/**
 * The compiled kernel module (a WebAssembly.Module), assembled once per thread, or handed over by the
 * thread that started this one (`useKernelModule`), since a compiled module crosses to a worker as is.
 */
export function kernelModule(): object {
  compiled ??= new wasm.Module(
    assembleModule([
      gather,
      histogramKernel("histogram1", 1),
      histogramKernel("histogram2", 2),
      histogramKernel("histogram3", 3),
      histogramKernel("histogram4", 4),
      partition,
      sumPairs,
      sequence,
      addToMargins,
      zero,
      subtract,
      binColumn,
    ]),
  );
  return compiled;
}

export function useKernelModule(module: object): void {
  compiled = module;
}

/** The kernels bound to `memory`; each thread instantiates its own on the shared memory. */
export function instantiateKernels(memory: WasmMemory): Kernels {
  return new wasm.Instance(kernelModule(), { env: { memory } }).exports as Kernels;
}
