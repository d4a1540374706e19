import { expect } from "vitest";
import type { Manifest } from "#shared/manifest.ts";
import { emptySketch, type Sketch, scoreBin } from "#shared/monitoring.ts";
import type { ScoredRow } from "../../edge/src/monitoring/sketch.ts";
import { histogram } from "../../trainer/src/ml/reference.ts";

/**
 * The sketch computed the slow, obvious way from the records as sent: the trainer's `histogram` on the
 * numbers, a plain tally of the categories ("" is missing, as in training).
 */
export function referenceSketch(
  manifest: Manifest,
  records: Record<string, unknown>[],
  scored: ScoredRow[],
): Sketch {
  const sketch = emptySketch(manifest.reference!);
  for (const [name, ref] of Object.entries(manifest.reference!.features)) {
    const values = records.map((r) => r[name]);
    const target = sketch.features[name]!;
    if (ref.type === "numeric" && target.type === "numeric") {
      const present = values.filter((v): v is number => typeof v === "number");
      target.counts = histogram(present, ref.edges);
      target.missing = values.length - present.length;
      target.outOfRange = present.filter((x) => x < ref.min! || x > ref.max!).length;
    } else if (ref.type === "categorical" && target.type === "categorical") {
      for (const v of values) {
        if (v === undefined || v === null || v === "") target.missing++;
        else if (Object.hasOwn(ref.counts, v as string))
          Object.defineProperty(target.counts, v as string, {
            value: (Object.hasOwn(target.counts, v as string) ? target.counts[v as string]! : 0) + 1,
            writable: true,
            enumerable: true,
            configurable: true,
          });
        else target.unseen++;
      }
    }
  }
  sketch.records = scored.length;
  for (const { probability, contact } of scored) {
    if (contact) sketch.contacts++;
    sketch.score.counts[scoreBin(probability)]!++;
    sketch.score.sums[scoreBin(probability)]! += probability;
  }
  return sketch;
}

/** Categorical counts as sorted entries: key order carries no meaning, and "__proto__" stays a plain key. */
function comparable(sketch: Omit<Sketch, "score">) {
  return {
    ...sketch,
    features: Object.entries(sketch.features).map(([name, f]) => ({
      name,
      ...f,
      counts: f.type === "numeric" ? f.counts : Object.entries(f.counts).sort(([a], [b]) => (a < b ? -1 : 1)),
    })),
  };
}

export function expectSameSketch(actual: Sketch, expected: Sketch): void {
  const { score: a, ...restA } = actual;
  const { score: e, ...restE } = expected;
  expect(comparable(restA)).toEqual(comparable(restE));
  expect(a.counts).toEqual(e.counts);
  for (const [i, sum] of a.sums.entries()) expect(sum).toBeCloseTo(e.sums[i]!, 9);
}
