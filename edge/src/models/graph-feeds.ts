import type { FeatureSpec } from "#shared/manifest.ts";
import { categoryColumn, type LiftedOneHot, oneHotIndex } from "#shared/onnx/lift-one-hot.ts";
import type { PackedNumerics } from "#shared/onnx/pack-numeric.ts";
import type { PackedOneHots } from "#shared/onnx/pack-one-hot.ts";
import type { Ort, OrtTensor } from "./ort.ts";

/**
 * Turns encoded columns into the session's inputs. When the model's one-hot encoders were lifted out of
 * the scoring graph (shared/src/onnx/lift-one-hot.ts, pack-one-hot.ts), a categorical value is one-hot
 * encoded here, as the encoder would have (its category's column set, all zeros for an unknown or missing
 * value), and fed as floats instead of a string tensor. When the numeric inputs were packed as well
 * (shared/src/onnx/pack-numeric.ts), each numeric value goes to its column of that one input.
 */
export interface GraphFeeds {
  /** The inputs for `n` rows; `release` must be called once the run that used them has settled. */
  build(columns: readonly (Float32Array | string[])[], n: number): Feeds;
}

export interface Feeds {
  tensors: Record<string, OrtTensor>;
  release(): void;
}

/** How the session takes the one-hot columns: none lifted, one input per encoder, or one packed input. */
export type OneHotLayout =
  | { kind: "text" }
  | { kind: "lifted"; oneHots: readonly LiftedOneHot[] }
  | { kind: "packed"; packed: PackedOneHots };

/** A float input carrying one-hot columns, `width` per row. */
interface OneHotInput {
  name: string;
  width: number;
  /** Its dimensions for `n` rows: [n, 1, width] for a lifted encoder's output, [n, width] packed. */
  dims: (n: number) => number[];
}

/** One encoder's columns inside a one-hot input. */
interface OneHotBlock {
  target: number;
  offset: number;
  index: ReadonlyMap<string, number>;
}

type Slot =
  | { kind: "numeric"; input: string }
  | { kind: "packed-numeric"; column: number }
  | { kind: "text"; input: string }
  | { kind: "one-hot"; blocks: OneHotBlock[] };

/** A one-record feed set: its tensors and the buffers they wrap, refilled request after request. */
interface SingleRow {
  tensors: Record<string, OrtTensor>;
  /** Per numeric slot, its value's buffer (undefined for the others). */
  numeric: (Float32Array | undefined)[];
  /** The packed numeric input's buffer, when there is one. */
  packedNumeric: Float32Array | undefined;
  /** Per one-hot input, its buffer. */
  oneHot: Float32Array[];
  busy: boolean;
}

/** Compiled once per model version. */
export function compileGraphFeeds(
  ort: Ort,
  features: readonly FeatureSpec[],
  inputs: readonly string[],
  layout: OneHotLayout,
  numerics?: Pick<PackedNumerics, "input" | "width" | "columns">,
): GraphFeeds {
  const targets: OneHotInput[] = [];
  const blocksOf = new Map<string, OneHotBlock[]>();
  const addBlock = (source: string, block: OneHotBlock) =>
    blocksOf.set(source, [...(blocksOf.get(source) ?? []), block]);
  if (layout.kind === "lifted") {
    for (const o of layout.oneHots) {
      const width = o.categories.length;
      targets.push({ name: o.input, width, dims: (n) => [n, 1, width] });
      addBlock(o.source, { target: targets.length - 1, offset: 0, index: oneHotIndex(o.categories) });
    }
  } else if (layout.kind === "packed") {
    const { input, width, blocks } = layout.packed;
    targets.push({ name: input, width, dims: (n) => [n, width] });
    for (const { oneHot, offset } of blocks) {
      addBlock(oneHot.source, { target: 0, offset, index: oneHotIndex(oneHot.categories) });
    }
  }
  const slots: Slot[] = features.map((feature, j): Slot => {
    const input = inputs[j]!;
    const packedColumn = numerics?.columns.get(input);
    if (feature.type === "numeric")
      return packedColumn === undefined
        ? { kind: "numeric", input }
        : { kind: "packed-numeric", column: packedColumn };
    const blocks = blocksOf.get(input);
    return blocks ? { kind: "one-hot", blocks } : { kind: "text", input };
  });
  const noTexts = slots.every((s) => s.kind !== "text");

  /** Sets each row's category columns in the zeroed one-hot buffers. */
  const fillOneHots = (
    buffers: readonly Float32Array[],
    columns: readonly (Float32Array | string[])[],
    n: number,
  ) => {
    slots.forEach((slot, j) => {
      if (slot.kind !== "one-hot") return;
      const texts = columns[j] as string[];
      for (const b of slot.blocks) {
        const data = buffers[b.target]!;
        const width = targets[b.target]!.width;
        for (let row = 0; row < n; row++) {
          const k = categoryColumn(b.index, texts[row]!);
          if (k >= 0) data[row * width + b.offset + k] = 1;
        }
      }
    });
  };

  /** Puts each numeric column in its place of the packed numeric input. */
  const fillPackedNumerics = (
    data: Float32Array,
    columns: readonly (Float32Array | string[])[],
    n: number,
  ) => {
    const width = numerics!.width;
    slots.forEach((slot, j) => {
      if (slot.kind !== "packed-numeric") return;
      const values = columns[j] as Float32Array;
      for (let row = 0; row < n; row++) data[row * width + slot.column] = values[row]!;
    });
  };

  const fresh = (columns: readonly (Float32Array | string[])[], n: number): Feeds => {
    const tensors: Record<string, OrtTensor> = {};
    slots.forEach((slot, j) => {
      if (slot.kind === "numeric")
        tensors[slot.input] = new ort.Tensor("float32", columns[j] as Float32Array, [n, 1]);
      else if (slot.kind === "text")
        tensors[slot.input] = new ort.Tensor("string", columns[j] as string[], [n, 1]);
    });
    if (numerics) {
      const data = new Float32Array(n * numerics.width);
      fillPackedNumerics(data, columns, n);
      tensors[numerics.input] = new ort.Tensor("float32", data, [n, numerics.width]);
    }
    const buffers = targets.map((t) => new Float32Array(n * t.width));
    fillOneHots(buffers, columns, n);
    targets.forEach((t, k) => {
      tensors[t.name] = new ort.Tensor("float32", buffers[k]!, t.dims(n));
    });
    return { tensors, release: () => {} };
  };

  // Predict requests are mostly one record: their tensors are built once and refilled. A run reads its
  // inputs across several awaits, so the set is lent to one run at a time; an overlapping run builds its own.
  let single: SingleRow | undefined;
  const singleRow = (): SingleRow => {
    const tensors: Record<string, OrtTensor> = {};
    const numeric = slots.map((slot) => {
      if (slot.kind !== "numeric") return undefined;
      const data = new Float32Array(1);
      tensors[slot.input] = new ort.Tensor("float32", data, [1, 1]);
      return data;
    });
    const oneHot = targets.map((t) => {
      const data = new Float32Array(t.width);
      tensors[t.name] = new ort.Tensor("float32", data, t.dims(1));
      return data;
    });
    let packedNumeric: Float32Array | undefined;
    if (numerics) {
      packedNumeric = new Float32Array(numerics.width);
      tensors[numerics.input] = new ort.Tensor("float32", packedNumeric, [1, numerics.width]);
    }
    return { tensors, numeric, packedNumeric, oneHot, busy: false };
  };

  return {
    build(columns, n) {
      if (n !== 1 || !noTexts) return fresh(columns, n);
      single ??= singleRow();
      if (single.busy) return fresh(columns, n);
      const set = single;
      set.numeric.forEach((data, j) => {
        if (data) data[0] = (columns[j] as Float32Array)[0]!;
      });
      if (set.packedNumeric) fillPackedNumerics(set.packedNumeric, columns, 1);
      for (const data of set.oneHot) data.fill(0);
      fillOneHots(set.oneHot, columns, 1);
      set.busy = true;
      return {
        tensors: set.tensors,
        release: () => {
          set.busy = false;
        },
      };
    },
  };
}
