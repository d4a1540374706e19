import { describe, expect, it } from "vitest";
import {
  applyBinMapper,
  binOf,
  fitBinMapper,
  quantileEdges,
} from "../../trainer/src/ml/models/gbdt/binning.ts";
import { buildHistogram, createHistogram, SLOT } from "../../trainer/src/ml/models/gbdt/histogram.ts";
import { instantiateKernels } from "../../trainer/src/ml/models/gbdt/kernels.ts";
import { TrainingMemory, view, WorkingMemoryExhausted } from "../../trainer/src/ml/models/gbdt/memory.ts";
import { createRandom, normal } from "../../trainer/src/ml/random.ts";

/** A training memory with a bump allocator and typed views, as the fit uses it. */
function arena(bytes = 1 << 20) {
  const memory = new TrainingMemory(bytes);
  const kernels = instantiateKernels(memory.memory);
  const u8 = (n: number) => {
    const at = memory.allocate(n);
    return { at, a: view(memory.memory, Uint8Array, at, n) };
  };
  const u32 = (n: number) => {
    const at = memory.allocate(4 * n);
    return { at, a: view(memory.memory, Uint32Array, at, n) };
  };
  const f32 = (n: number) => {
    const at = memory.allocate(4 * n);
    return { at, a: view(memory.memory, Float32Array, at, n) };
  };
  const f64 = (n: number) => {
    const at = memory.allocate(8 * n);
    return { at, a: view(memory.memory, Float64Array, at, n) };
  };
  return { memory, kernels, u8, u32, f32, f64 };
}

/** Columns with a spread of bin counts: continuous, a few levels, 0/1, and NaN. */
function mixedColumns(rows: number, seed: number): Float32Array[] {
  const random = createRandom(seed);
  return [
    Float32Array.from({ length: rows }, () => normal(random)),
    Float32Array.from({ length: rows }, () => (random() < 0.2 ? Number.NaN : normal(random) * 50)),
    Float32Array.from({ length: rows }, () => Math.floor(random() * 5)),
    Float32Array.from({ length: rows }, () => (random() < 0.3 ? 1 : 0)),
    Float32Array.from({ length: rows }, () => (random() < 0.5 ? Number.NaN : random())),
  ];
}

/** Ascending rows kept with probability `rate`. */
function sampleIndex(rows: number, rate: number, seed: number): number[] {
  const random = createRandom(seed);
  return Array.from({ length: rows }, (_, r) => r).filter(() => random() < rate);
}

describe("GBDT WebAssembly kernels", () => {
  it("build histograms equal, bit for bit, to the JavaScript reference over one to four columns at a time", () => {
    const rows = 3000;
    const columns = mixedColumns(rows, 1);
    const reference = applyBinMapper(fitBinMapper(columns, { maxBins: 255 }), columns);
    const { kernels, u8, u32, f32, f64 } = arena();
    const bins = u8(reference.bins.length);
    bins.a.set(reference.bins);
    const random = createRandom(2);
    const pairs = f32(2 * rows);
    for (let i = 0; i < 2 * rows; i++) pairs.a[i] = (random() - 0.4) * (i % 2 ? 0.25 : 1);

    for (const rate of [1, 0.3]) {
      const rowsIn = sampleIndex(rows, rate, 3);
      const index = u32(rowsIn.length);
      index.a.set(rowsIn);
      const gathered = f32(2 * rowsIn.length);
      kernels.gather(index.at, pairs.at, gathered.at, 0, rowsIn.length);
      rowsIn.forEach((r, i) => {
        expect(gathered.a[2 * i]).toBe(pairs.a[2 * r]);
        expect(gathered.a[2 * i + 1]).toBe(pairs.a[2 * r + 1]);
      });

      const expected = createHistogram(reference);
      const all = Int32Array.from(columns, (_, c) => c);
      buildHistogram(expected, reference, all, index.a, 0, rowsIn.length, gathered.a);
      const hist = f64(reference.slots * SLOT);
      const binsOf = (c: number) => bins.at + c * rows;
      const slotOf = (c: number) => hist.at + reference.offsets[c]! * SLOT * 8;
      const tail = [index.at, 0, rowsIn.length, gathered.at] as const;
      // Columns 0-3 in one pass, then column 4 alone; then again as 2 + 3 and 1 + 1 + 1 + 2.
      kernels.histogram4(
        binsOf(0),
        binsOf(1),
        binsOf(2),
        binsOf(3),
        slotOf(0),
        slotOf(1),
        slotOf(2),
        slotOf(3),
        ...tail,
      );
      kernels.histogram1(binsOf(4), slotOf(4), ...tail);
      expect(Array.from(hist.a)).toEqual(Array.from(expected));

      hist.a.fill(0);
      kernels.histogram2(binsOf(0), binsOf(1), slotOf(0), slotOf(1), ...tail);
      kernels.histogram3(binsOf(2), binsOf(3), binsOf(4), slotOf(2), slotOf(3), slotOf(4), ...tail);
      expect(Array.from(hist.a)).toEqual(Array.from(expected));
    }
  });

  it("partitions a node's rows stably, left rows first, with missing values on their learned side", () => {
    const rows = 2000;
    const random = createRandom(4);
    const { kernels, u8, u32 } = arena();
    // One column of 9 value bins and its missing bin (9).
    const bins = u8(rows);
    for (let r = 0; r < rows; r++) bins.a[r] = random() < 0.1 ? 9 : Math.floor(random() * 9);
    const side = u8(256);
    for (const missingLeft of [0, 1]) {
      for (let b = 0; b < 9; b++) side.a[b] = b <= 3 ? 1 : 0;
      side.a[9] = missingLeft;
      const index = u32(rows);
      const scratch = u32(rows);
      const node = sampleIndex(rows, 0.6, 5);
      // The node sits in the middle of the index, between other nodes' rows that must stay put.
      const start = 100;
      index.a.fill(7);
      index.a.set(node, start);
      const end = start + node.length;
      const mid = kernels.partition(index.at, scratch.at, start, end, bins.at, side.at);

      const goesLeft = (r: number) => side.a[bins.a[r]!] === 1;
      const expected = [...node.filter(goesLeft), ...node.filter((r) => !goesLeft(r))];
      expect(mid - start).toBe(node.filter(goesLeft).length);
      expect(Array.from(index.a.subarray(start, end))).toEqual(expected);
      expect(index.a[start - 1]).toBe(7);
      expect(index.a[end]).toBe(7);
    }
  });

  it("subtracts histograms and sums gradient pairs exactly as float64 arithmetic in order does", () => {
    const { kernels, f32, f64 } = arena();
    const random = createRandom(6);
    const n = 514;
    const parent = f64(n);
    const child = f64(n);
    const target = f64(n);
    for (let i = 0; i < n; i++) {
      parent.a[i] = normal(random) * 1e3;
      child.a[i] = normal(random) * 1e-3;
    }
    kernels.subtract(target.at, parent.at, child.at, 8 * n);
    for (let i = 0; i < n; i++) expect(target.a[i]).toBe(parent.a[i]! - child.a[i]!);
    // In place, as the grower uses it.
    kernels.subtract(parent.at, parent.at, child.at, 8 * n);
    expect(Array.from(parent.a)).toEqual(Array.from(target.a));

    const count = 10_001;
    const pairs = f32(2 * count);
    for (let i = 0; i < 2 * count; i++) pairs.a[i] = (random() - 0.7) * 10 ** Math.floor(random() * 6 - 3);
    let grad = 0;
    let hess = 0;
    for (let i = 0; i < count; i++) {
      grad += pairs.a[2 * i]!;
      hess += pairs.a[2 * i + 1]!;
    }
    const sum = f64(2);
    kernels.sumPairs(pairs.at, count, sum.at);
    expect([sum.a[0], sum.a[1]]).toEqual([grad, hess]);
  });

  it("zeroes a histogram's bytes and nothing beyond them", () => {
    const { kernels, f64 } = arena();
    const slots = f64(8);
    slots.a.fill(3);
    kernels.zero(slots.at + 16, 32);
    expect(Array.from(slots.a)).toEqual([3, 3, 0, 0, 0, 0, 3, 3]);
  });

  it("bins values as binOf does: edges inclusive, above the last edge in the last bin, NaN in the missing bin", () => {
    const { kernels, u8, f32 } = arena();
    const random = createRandom(7);
    const rows = 5000;
    const values = f32(rows);
    for (let i = 0; i < rows; i++) values.a[i] = random() < 0.05 ? Number.NaN : normal(random);
    const out = u8(rows);
    const padded = f32(256);
    const check = (edges: Float32Array, xs: Float32Array) => {
      values.a.set(xs);
      padded.a.fill(Number.POSITIVE_INFINITY);
      padded.a.set(edges);
      const last = Math.max(edges.length - 1, 0);
      kernels.binColumn(values.at, xs.length, padded.at, last, edges.length, out.at);
      for (let i = 0; i < xs.length; i++) expect(out.a[i], `x = ${xs[i]}`).toBe(binOf(edges, xs[i]!));
    };
    const sample = values.a.slice();
    for (const maxBins of [255, 64, 7, 2]) check(quantileEdges(sample, maxBins, 1), sample);
    const edges = Float32Array.of(-1, 0, 2.5);
    check(edges, Float32Array.of(-5, -1, -0.5, -0, 0, 1, 2.5, 3, Infinity, -Infinity, Number.NaN));
    check(new Float32Array(0), Float32Array.of(Number.NaN, Number.NaN));
    // 255 edges: values above the last one must not spill into the missing bin.
    check(
      Float32Array.from({ length: 255 }, (_, i) => i),
      Float32Array.of(254, 254.5, 1e9, 0, -1),
    );
  });

  it("refuses working memory beyond what a WebAssembly memory holds, before growing", () => {
    const memory = new TrainingMemory(1024);
    expect(() => memory.allocate(5 * 2 ** 30)).toThrow(WorkingMemoryExhausted);
    expect(() => memory.allocate(5 * 2 ** 30)).toThrow(/more than 4 GiB/);
    expect(memory.memory.buffer.byteLength).toBeLessThan(2 ** 20);
  });

  it("grows its memory without invalidating the views already made", () => {
    const memory = new TrainingMemory(1024);
    const first = view(memory.memory, Float64Array, memory.allocate(80), 10);
    first.fill(1.5);
    const big = memory.allocate(3 << 20);
    expect(memory.memory.buffer.byteLength).toBeGreaterThanOrEqual(big + (3 << 20));
    expect(Array.from(first)).toEqual(new Array(10).fill(1.5));
    expect(big % 16).toBe(0);
  });
});
