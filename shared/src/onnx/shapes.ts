/**
 * Shapes as the publish check reasons about them: every dimension is `size × batch^power`, the batch being
 * the number of records in a request, unknown when the model is published. A graph input is [batch, 1],
 * as the edge feeds it, and everything else follows from the operators' rules, so a tensor whose size
 * grows faster than the batch (`power` above 1), or holds too much per record, is found before it runs.
 */
export interface Dim {
  readonly size: number;
  readonly power: number;
}
export type Shape = readonly Dim[];

export const ONE: Dim = { size: 1, power: 0 };
export const BATCH: Dim = { size: 1, power: 1 };
export const fixed = (size: number): Dim => ({ size, power: 0 });

/** Operator input or attribute that makes no sense for the shapes it meets; the message says why. */
export class ShapeError extends Error {
  override name = "ShapeError";
}

export const sameDim = (a: Dim, b: Dim): boolean => a.size === b.size && a.power === b.power;

/** The product of dimensions: its size (per batch^power) and power. */
export function product(dims: readonly Dim[]): Dim {
  let size = 1;
  let power = 0;
  for (const d of dims) {
    size *= d.size;
    power += d.power;
  }
  return { size, power };
}

export function formatDim(d: Dim): string {
  if (d.power === 0) return String(d.size);
  const batch = d.power === 1 ? "N" : `N^${d.power}`;
  return d.size === 1 ? batch : `${d.size}·${batch}`;
}

export const formatShape = (shape: Shape): string => `[${shape.map(formatDim).join(", ")}]`;

/** numpy-style broadcasting, as the ONNX elementwise operators apply it. */
export function broadcast(shapes: readonly Shape[]): Shape {
  const rank = Math.max(0, ...shapes.map((s) => s.length));
  const out: Dim[] = [];
  for (let k = 0; k < rank; k++) {
    let dim: Dim = ONE;
    for (const shape of shapes) {
      const d = shape[shape.length - rank + k] ?? ONE;
      if (sameDim(d, ONE) || sameDim(d, dim)) continue;
      if (!sameDim(dim, ONE))
        throw new ShapeError(`cannot broadcast ${shapes.map(formatShape).join(" with ")}`);
      dim = d;
    }
    out.push(dim);
  }
  return out;
}

/** Resolves a possibly negative axis against a rank, refusing one out of range. */
export function axisOf(axis: number, rank: number, allowEnd = false): number {
  const resolved = axis < 0 ? axis + rank : axis;
  if (!Number.isInteger(resolved) || resolved < 0 || resolved > (allowEnd ? rank : rank - 1))
    throw new ShapeError(`axis ${axis} is out of range for rank ${rank}`);
  return resolved;
}
