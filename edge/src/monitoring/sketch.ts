import type { DriftReference, Manifest } from "#shared/manifest.ts";
import { emptySketch, SCORE_SKETCH_BINS, type Sketch, scoreBin } from "#shared/monitoring.ts";
import { jsonStringBytes } from "./json-size.ts";

/** Encoded columns as the feature encoder produces them: Float32Array (NaN = missing) or string[] ("" = missing). */
export type EncodedColumns = readonly (Float32Array | string[])[];

interface NumericPlan {
  kind: "numeric";
  name: string;
  column: number;
  /**
   * The reference's edges rounded to float32, like the values the encoder hands the model: a value sent
   * exactly on an edge lands in the same bin as in training. Only values within float32 precision of an
   * edge (relative 6e-8) can fall on the other side of it.
   */
  edges: Float64Array;
  /** The training range in float32, or ±Infinity when the reference does not record it. */
  min: number;
  max: number;
}

interface CategoricalPlan {
  kind: "categorical";
  name: string;
  column: number;
  /** Category → slot, for the categories the reference knows. */
  slots: Map<string, number>;
  categories: readonly string[];
}

type FeaturePlan = NumericPlan | CategoricalPlan;

export interface ScoredRow {
  probability: number;
  contact: boolean;
}

/** Adds rows to a sketch in typed arrays; the Sketch object is built once, at the end. */
export interface SketchAccumulator {
  /**
   * Adds the encoded rows [start, start + scored.length): `scored[k]` is row start + k's prediction. Exact
   * counts, so the sketches of a partition of the rows sum to the sketch of all of them.
   */
  add(columns: EncodedColumns, start: number, scored: readonly ScoredRow[]): void;
  toSketch(): Sketch;
}

export interface Sketcher {
  accumulator(): SketchAccumulator;
  /** The sketch of those rows alone. */
  sketch(columns: EncodedColumns, start: number, scored: readonly ScoredRow[]): Sketch;
  /** An upper bound on the JSON size in bytes of the sketch of `rows` rows. */
  sizeBound(rows: number): number;
}

/** Bytes of a count in JSON, generously: up to 1,000 records per request. */
const COUNT_BYTES = 5;
/** Bytes of a sum of probabilities in JSON (e.g. 123.45678901234567). */
const SUM_BYTES = 24;

/**
 * Compiles, once per model version, what sketching its traffic needs: each reference feature's column in
 * the encoder's output, its edges in float32 and its category slots. Undefined when the manifest carries no
 * drift reference (bring-your-own models may not): such events carry no sketch.
 */
export function compileSketcher(manifest: Manifest): Sketcher | undefined {
  const reference = manifest.reference;
  if (!reference) return undefined;
  const columnOf = new Map(manifest.features.map((f, j) => [f.name, j]));
  const plans: FeaturePlan[] = [];
  /** Per categorical feature: bytes of one listed category at most, and of all of them listed. */
  const categoryBytes: { largest: number; all: number }[] = [];
  for (const [name, ref] of Object.entries(reference.features)) {
    const column = columnOf.get(name);
    // A reference feature the model does not take, or one typed differently, keeps its empty layout.
    if (column === undefined || manifest.features[column]!.type !== ref.type) continue;
    if (ref.type === "numeric") {
      plans.push({
        kind: "numeric",
        name,
        column,
        edges: Float64Array.from(ref.edges, Math.fround),
        min: ref.min === undefined ? Number.NEGATIVE_INFINITY : Math.fround(ref.min),
        max: ref.max === undefined ? Number.POSITIVE_INFINITY : Math.fround(ref.max),
      });
    } else {
      const categories = Object.keys(ref.counts);
      plans.push({
        kind: "categorical",
        name,
        column,
        slots: new Map(categories.map((c, i) => [c, i])),
        categories,
      });
      // Each record adds at most one key to this feature's counts, and there are only so many keys.
      const sizes = categories.map((c) => jsonStringBytes(c) + 2 + COUNT_BYTES);
      categoryBytes.push({ largest: Math.max(0, ...sizes), all: sizes.reduce((a, b) => a + b, 0) });
    }
  }
  const fixedBytes = sketchSizeBound(emptySketch(reference));
  const sketcher: Sketcher = {
    accumulator: () => new Accumulator(reference, plans),
    sketch(columns, start, scored) {
      const accumulator = sketcher.accumulator();
      accumulator.add(columns, start, scored);
      return accumulator.toSketch();
    },
    sizeBound(rows) {
      let bytes = fixedBytes;
      for (const { largest, all } of categoryBytes) bytes += Math.min(all, rows * largest);
      return bytes;
    },
  };
  return sketcher;
}

/** Per plan: bin counts (numeric) or category tallies (categorical), then missing and out-of-range/unseen. */
class Accumulator implements SketchAccumulator {
  readonly #reference: DriftReference;
  readonly #plans: readonly FeaturePlan[];
  readonly #tallies: Uint32Array[];
  readonly #missing: Uint32Array;
  /** Out of range (numeric) or unseen (categorical). */
  readonly #outside: Uint32Array;
  readonly #scoreCounts = new Uint32Array(SCORE_SKETCH_BINS);
  readonly #scoreSums = new Float64Array(SCORE_SKETCH_BINS);
  #records = 0;
  #contacts = 0;

  constructor(reference: DriftReference, plans: readonly FeaturePlan[]) {
    this.#reference = reference;
    this.#plans = plans;
    this.#tallies = plans.map(
      (p) => new Uint32Array(p.kind === "numeric" ? p.edges.length + 1 : p.categories.length),
    );
    this.#missing = new Uint32Array(plans.length);
    this.#outside = new Uint32Array(plans.length);
  }

  add(columns: EncodedColumns, start: number, scored: readonly ScoredRow[]): void {
    const end = start + scored.length;
    for (let j = 0; j < this.#plans.length; j++) {
      const plan = this.#plans[j]!;
      const tally = this.#tallies[j]!;
      let missing = 0;
      let outside = 0;
      if (plan.kind === "numeric") {
        const column = columns[plan.column] as Float32Array;
        const { edges, min, max } = plan;
        for (let i = start; i < end; i++) {
          const x = column[i]!;
          if (Number.isNaN(x)) {
            missing++;
            continue;
          }
          if (x < min || x > max) outside++;
          // First edge >= x, else the last bin: the reference's `histogram` convention.
          let lo = 0;
          let hi = edges.length;
          while (lo < hi) {
            const mid = (lo + hi) >>> 1;
            if (x <= edges[mid]!) hi = mid;
            else lo = mid + 1;
          }
          tally[lo]!++;
        }
      } else {
        const column = columns[plan.column] as string[];
        for (let i = start; i < end; i++) {
          const value = column[i]!;
          if (value === "") {
            missing++;
            continue;
          }
          const slot = plan.slots.get(value);
          if (slot === undefined) outside++;
          else tally[slot]!++;
        }
      }
      this.#missing[j]! += missing;
      this.#outside[j]! += outside;
    }
    this.#records += scored.length;
    for (const { probability, contact } of scored) {
      if (contact) this.#contacts++;
      const bin = scoreBin(probability);
      this.#scoreCounts[bin]!++;
      this.#scoreSums[bin]! += probability;
    }
  }

  toSketch(): Sketch {
    const sketch = emptySketch(this.#reference);
    sketch.records = this.#records;
    sketch.contacts = this.#contacts;
    sketch.score = { counts: Array.from(this.#scoreCounts), sums: Array.from(this.#scoreSums) };
    this.#plans.forEach((plan, j) => {
      const target = sketch.features[plan.name]!;
      const tally = this.#tallies[j]!;
      target.missing = this.#missing[j]!;
      if (plan.kind === "numeric" && target.type === "numeric") {
        target.counts = Array.from(tally);
        target.outOfRange = this.#outside[j]!;
      } else if (plan.kind === "categorical" && target.type === "categorical") {
        target.unseen = this.#outside[j]!;
        for (let slot = 0; slot < tally.length; slot++) {
          // Own properties even for categories such as "__proto__"; only categories seen are listed.
          if (tally[slot]! > 0)
            Object.defineProperty(target.counts, plan.categories[slot]!, {
              value: tally[slot]!,
              writable: true,
              enumerable: true,
              configurable: true,
            });
        }
      }
    });
    return sketch;
  }
}

/** JSON bytes of an empty sketch with every count and sum at its widest. */
function sketchSizeBound(empty: Sketch): number {
  let bytes = new TextEncoder().encode(JSON.stringify(empty)).byteLength;
  for (const feature of Object.values(empty.features)) {
    bytes += 3 * COUNT_BYTES;
    if (feature.type === "numeric") bytes += feature.counts.length * COUNT_BYTES;
  }
  return bytes + 2 * COUNT_BYTES + SCORE_SKETCH_BINS * (COUNT_BYTES + SUM_BYTES);
}
