import type { Column, Dataset } from "../../data/dataset.ts";

/** A categorical column as its levels and one code per row, on shared memory. */
interface PackedCategorical {
  kind: "categorical-packed";
  column: Omit<Extract<Column, { kind: "categorical" }>, "values">;
  levels: string[];
  codes: Int32Array;
}

export interface PackedDataset {
  dataset: Omit<Dataset, "features">;
  features: (Column | PackedCategorical)[];
}

/**
 * The data set as a worker thread receives it without doubling memory: numeric columns already live on
 * shared memory (the loader puts them there) and pass as they are; categorical columns pass as their few
 * levels and a shared code per row, instead of a cloned string per row.
 */
export function packDataset(dataset: Dataset): PackedDataset {
  const { features, ...rest } = dataset;
  return {
    dataset: rest,
    features: features.map((column) => {
      if (column.kind === "numeric") return column;
      const { values, ...meta } = column;
      const index = new Map<string, number>();
      const levels: string[] = [];
      const codes = new Int32Array(new SharedArrayBuffer(values.length * Int32Array.BYTES_PER_ELEMENT));
      values.forEach((v, i) => {
        let code = index.get(v);
        if (code === undefined) {
          code = levels.length;
          index.set(v, code);
          levels.push(v);
        }
        codes[i] = code;
      });
      return { kind: "categorical-packed", column: meta, levels, codes };
    }),
  };
}

/** The worker's side: categorical values rebuilt as references to the shared levels. */
export function unpackDataset(packed: PackedDataset): Dataset {
  return {
    ...packed.dataset,
    features: packed.features.map((f) => {
      if (f.kind !== "categorical-packed") return f;
      const values = new Array<string>(f.codes.length);
      for (let i = 0; i < values.length; i++) values[i] = f.levels[f.codes[i]!]!;
      return { ...f.column, values };
    }),
  };
}
