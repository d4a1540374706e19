import { ChurnError } from "#shared/errors.ts";
import { createRandom, shuffleInPlace } from "../random.ts";

/**
 * Seeded stratified k-fold assignment: each class is shuffled and dealt round-robin, so every fold keeps
 * the positive rate. Returns the fold (0..k-1) of each position in `y`.
 */
export function stratifiedFolds(y: ArrayLike<number>, k: number, seed: number): Uint8Array {
  if (!(Number.isInteger(k) && k >= 2 && k <= 255)) {
    throw new ChurnError("INVALID_REQUEST", `Folds must be an integer in [2, 255], got ${k}`);
  }
  const random = createRandom(seed ^ 0x5eed);
  const fold = new Uint8Array(y.length);
  let start = 0;
  for (const label of [0, 1]) {
    const rows: number[] = [];
    for (let i = 0; i < y.length; i++) if ((y[i] ? 1 : 0) === label) rows.push(i);
    shuffleInPlace(rows, random);
    // Continue dealing where the previous class stopped, so fold sizes differ by at most one overall.
    rows.forEach((row, i) => {
      fold[row] = (start + i) % k;
    });
    start = (start + rows.length) % k;
  }
  return fold;
}

/** Largest k ≤ `wanted` that leaves every fold with both classes. */
export function feasibleFolds(y: ArrayLike<number>, wanted: number): number {
  let positives = 0;
  for (let i = 0; i < y.length; i++) positives += y[i] ? 1 : 0;
  const k = Math.min(wanted, positives, y.length - positives);
  if (k < 2) {
    throw new ChurnError(
      "INVALID_REQUEST",
      `Too few rows of one class for cross-validation (${positives} positive, ${y.length - positives} negative training rows); need at least 2 of each`,
    );
  }
  return k;
}
