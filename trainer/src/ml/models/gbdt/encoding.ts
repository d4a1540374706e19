import type { ExplainerColumn } from "#shared/explainer.ts";
import { categoricalInput, type FeatureBatch, numericInput } from "../../features.ts";
import { encodedBlocks, type Preprocessor } from "../../preprocess.ts";

/**
 * Trees see raw numeric values (NaN stays missing: each split learns where it goes) and one 0/1 column
 * per kept category, in the preprocessor's encoded layout: numeric columns first, then one-hot blocks.
 * Missing and unseen categories are all zeros, exactly as the graph's OneHotEncoder(zeros=1) gives.
 */
export interface TreeColumns {
  /** Per encoded column: the raw feature (index into `pre.features`) and, if one-hot, its category. */
  columns: ExplainerColumn[];
  /** Per encoded column: true for one-hot 0/1 columns. */
  indicator: boolean[];
}

export function treeColumns(pre: Preprocessor): TreeColumns {
  const columns: ExplainerColumn[] = new Array(pre.width);
  const blocks = encodedBlocks(pre);
  pre.features.forEach((f, j) => {
    const { offset } = blocks[j]!;
    if (f.kind === "numeric") columns[offset] = { feature: j };
    else for (const [k, category] of f.categories.entries()) columns[offset + k] = { feature: j, category };
  });
  return { columns, indicator: columns.map((c) => c.category !== undefined) };
}

/** Column-major float32 encoding of a batch (one array per encoded column). */
export function encodeForTrees(pre: Preprocessor, batch: FeatureBatch): Float32Array[] {
  const out = Array.from({ length: pre.width }, () => new Float32Array(batch.rows));
  const blocks = encodedBlocks(pre);
  pre.features.forEach((f, j) => {
    const { offset } = blocks[j]!;
    if (f.kind === "numeric") {
      out[offset]!.set(numericInput(batch, f.name));
      return;
    }
    const index = new Map(f.categories.map((c, k) => [c, offset + k]));
    const values = categoricalInput(batch, f.name);
    for (let r = 0; r < batch.rows; r++) {
      const k = index.get(values[r]!);
      if (k !== undefined) out[k]![r] = 1;
    }
  });
  return out;
}
