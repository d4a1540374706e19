import { ChurnError } from "#shared/errors.ts";
import { type FeatureSpec, graphInputOf } from "#shared/manifest.ts";
import { categoryColumn, type LiftedOneHot, oneHotIndex } from "#shared/onnx/lift-one-hot.ts";
import type { CellReader } from "../../data/cells.ts";
import type { BatchTensor, ScoreBatch } from "./batch.ts";

/**
 * Turns CSV rows into graph inputs, a batch at a time. Numbers become float32 (NaN when missing); a
 * categorical cell is the trimmed text, or "" when missing. When the graph's one-hot encoders were lifted
 * out (see shared/src/onnx/lift-one-hot.ts), each categorical cell is one-hot encoded here instead, exactly as the encoder
 * would have: a 1 in its category's column, all zeros for anything else.
 */
export interface FeedEncoder {
  /** Starts an empty batch of up to `size` rows. */
  start(size: number): void;
  /** Adds a row from a CSV record's cells; `line` is the record's, for error messages. */
  add(cells: readonly string[], line: number): void;
  rows(): number;
  /** The batch so far, trimmed to its rows; the encoder must be started again before the next row. */
  finish(): ScoreBatch;
}

interface NumericSlot {
  kind: "numeric";
  name: string;
  input: string;
  column: number;
  data: Float32Array;
}

interface OneHotBlock {
  input: string;
  index: Map<string, number>;
  width: number;
  data: Float32Array;
}

interface CategoricalSlot {
  kind: "categorical";
  input: string;
  column: number;
  /** Lifted encoders reading this input; empty when the graph takes the text itself. */
  blocks: OneHotBlock[];
  /** The texts, when the graph takes them. */
  texts: string[] | undefined;
  /**
   * Each block's column (-1: none) by raw cell. A categorical column repeats a few values, so most cells
   * cost one lookup instead of a trim, a missing-value check and a lookup per block.
   */
  seen: Map<string, number[]>;
}

/** Distinct raw cells remembered per column; past it (an id-like column), cells are worked out each time. */
const SEEN_LIMIT = 4096;

type Slot = NumericSlot | CategoricalSlot;

/** `columns[j]` is where the j-th feature (the manifest's order) sits in each record. */
export function feedEncoder(
  features: readonly FeatureSpec[],
  columns: readonly number[],
  reader: CellReader,
  oneHots: readonly LiftedOneHot[],
): FeedEncoder {
  const slots: Slot[] = features.map((f, j) => {
    const input = graphInputOf(f);
    const column = columns[j]!;
    if (f.type === "numeric")
      return { kind: "numeric", name: f.name, input, column, data: new Float32Array(0) };
    const blocks = oneHots
      .filter((o) => o.source === input)
      .map((o) => ({
        input: o.input,
        index: oneHotIndex(o.categories),
        width: o.categories.length,
        data: new Float32Array(0),
      }));
    return {
      kind: "categorical",
      input,
      column,
      blocks,
      texts: blocks.length > 0 ? undefined : [],
      seen: new Map(),
    };
  });
  let rows = 0;
  /** What the graph is given for a categorical cell: the trimmed text, or "" when it is missing. */
  const textOf = (raw: string) => {
    const cell = raw.trim();
    return reader.missingMarker(cell) === undefined ? cell : "";
  };
  const numberOf = (raw: string, slot: NumericSlot, line: number) => {
    const cell = raw.trim();
    if (reader.missingMarker(cell) !== undefined) return Number.NaN;
    const value = reader.number(cell);
    if (Number.isNaN(value)) {
      throw new ChurnError(
        "INVALID_REQUEST",
        `CSV line ${line}: column "${slot.name}" must be a number, got ${JSON.stringify(cell)}`,
      );
    }
    return value;
  };
  const setOneHots = (slot: CategoricalSlot, raw: string, row: number) => {
    let columns = slot.seen.get(raw);
    if (!columns) {
      const text = textOf(raw);
      columns = slot.blocks.map((b) => categoryColumn(b.index, text));
      if (slot.seen.size < SEEN_LIMIT) slot.seen.set(raw, columns);
    }
    for (let k = 0; k < columns.length; k++) {
      const b = slot.blocks[k]!;
      if (columns[k]! >= 0) b.data[row * b.width + columns[k]!] = 1;
    }
  };

  return {
    start(size) {
      rows = 0;
      for (const slot of slots) {
        if (slot.kind === "numeric") slot.data = new Float32Array(size);
        else if (slot.texts) slot.texts = new Array<string>(size);
        else for (const b of slot.blocks) b.data = new Float32Array(size * b.width);
      }
    },
    add(cells, line) {
      for (const slot of slots) {
        const raw = cells[slot.column]!;
        if (slot.kind === "numeric") slot.data[rows] = numberOf(raw, slot, line);
        else if (slot.texts) slot.texts[rows] = textOf(raw);
        else setOneHots(slot, raw, rows);
      }
      rows++;
    },
    rows: () => rows,
    finish() {
      const n = rows;
      const tensors: BatchTensor[] = [];
      for (const slot of slots) {
        if (slot.kind === "numeric") {
          tensors.push({ input: slot.input, type: "float32", data: trimmed(slot.data, n), dims: [n, 1] });
        } else if (slot.texts) {
          tensors.push({ input: slot.input, type: "string", data: slot.texts.slice(0, n), dims: [n, 1] });
        } else {
          for (const b of slot.blocks) {
            tensors.push({
              input: b.input,
              type: "float32",
              data: trimmed(b.data, n * b.width),
              dims: [n, 1, b.width],
            });
          }
        }
      }
      return { rows: n, tensors };
    },
  };
}

/** A batch's own buffer, cut to its rows (a copy only for the last, short batch), so it can be transferred. */
function trimmed(data: Float32Array, length: number): Float32Array {
  return length === data.length ? data : data.slice(0, length);
}
