import type { DriftReference, Manifest } from "#shared/manifest.ts";
import { emptySketch, type Sketch, scoreBin } from "#shared/monitoring.ts";

/** The index of x's bin: the first edge >= x, or the last bin above every edge (the reference's convention). */
function binOf(x: number, edges: readonly number[]): number {
  let lo = 0;
  let hi = edges.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (x <= edges[mid]!) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/**
 * Sketches scored records on a model's drift reference, as the edge does per request: numeric values into
 * the reference's bins (out of range against the training min/max: the reference's, else the manifest's), categorical values into
 * known categories or unseen, and the probabilities into the score bins. A value that is absent, null,
 * NaN or an empty string counts as missing.
 */
export function sketchRecords(
  manifest: Pick<Manifest, "features"> & { reference: DriftReference },
  records: readonly Record<string, unknown>[],
  probabilities: readonly number[],
  contacts: readonly boolean[],
): Sketch {
  const sketch = emptySketch(manifest.reference);
  const specs = new Map(manifest.features.map((f) => [f.name, f]));
  for (const [i, record] of records.entries()) {
    sketch.records++;
    if (contacts[i]) sketch.contacts++;
    const p = probabilities[i]!;
    const bin = scoreBin(p);
    sketch.score.counts[bin]!++;
    sketch.score.sums[bin]! += p;
    for (const [name, ref] of Object.entries(manifest.reference.features)) {
      const target = sketch.features[name]!;
      const value = record[name];
      const missing =
        value === undefined ||
        value === null ||
        value === "" ||
        (typeof value === "number" && Number.isNaN(value));
      if (missing) {
        target.missing++;
        continue;
      }
      if (target.type === "numeric" && ref.type === "numeric") {
        const x = Number(value);
        target.counts[binOf(x, ref.edges)]!++;
        const spec = specs.get(name);
        const min = ref.min ?? (spec?.type === "numeric" ? spec.min : undefined);
        const max = ref.max ?? (spec?.type === "numeric" ? spec.max : undefined);
        if ((min !== undefined && x < min) || (max !== undefined && x > max)) target.outOfRange++;
      } else if (target.type === "categorical" && ref.type === "categorical") {
        const category = String(value);
        if (Object.hasOwn(ref.counts, category))
          target.counts[category] =
            (Object.hasOwn(target.counts, category) ? target.counts[category]! : 0) + 1;
        else target.unseen++;
      }
    }
  }
  return sketch;
}
