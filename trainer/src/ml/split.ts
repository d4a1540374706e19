import { readFile } from "node:fs/promises";
import { ChurnError } from "#shared/errors.ts";
import { createRandom, shuffleInPlace } from "./random.ts";

/** Train / holdout partition as sorted 0-based data-row indices. */
export interface Split {
  train: number[];
  test: number[];
}

/**
 * Seeded stratified split: each class is shuffled separately and `testFraction` of it (rounded) goes
 * to the holdout, so both parts keep the overall positive rate.
 */
export function stratifiedSplit(y: ArrayLike<number>, seed: number, testFraction = 0.2): Split {
  if (!(testFraction > 0 && testFraction < 1)) {
    throw new ChurnError("INVALID_REQUEST", `Test fraction must be between 0 and 1, got ${testFraction}`);
  }
  const random = createRandom(seed);
  const byClass: number[][] = [[], []];
  for (let i = 0; i < y.length; i++) byClass[y[i] ? 1 : 0]!.push(i);
  const train: number[] = [];
  const test: number[] = [];
  for (const rows of byClass) {
    shuffleInPlace(rows, random);
    const nTest = Math.round(rows.length * testFraction);
    // Element by element: spreading a large class into push() overflows the call stack.
    for (let i = 0; i < rows.length; i++) (i < nTest ? test : train).push(rows[i]!);
  }
  if (train.length === 0 || test.length === 0) {
    throw new ChurnError("INVALID_REQUEST", `Too few rows (${y.length}) to split into train and holdout`);
  }
  return { train: train.sort((a, b) => a - b), test: test.sort((a, b) => a - b) };
}

/** Reads `{"train":[...],"test":[...]}` and validates it against the dataset's row count. */
export async function loadSplit(path: string, rowCount: number): Promise<Split> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(path, "utf8"));
  } catch (cause) {
    throw new ChurnError("INVALID_REQUEST", `Cannot read split file ${path}: ${(cause as Error).message}`, {
      cause,
    });
  }
  return validateSplit(parsed, rowCount, path);
}

export function validateSplit(value: unknown, rowCount: number, label = "split"): Split {
  if (typeof value !== "object" || value === null) {
    throw new ChurnError("INVALID_REQUEST", `${label}: expected an object {"train": [...], "test": [...]}`);
  }
  const record = value as Record<string, unknown>;
  const seen = new Map<number, string>();
  const part = (key: "train" | "test"): number[] => {
    const list = record[key];
    if (!Array.isArray(list) || list.length === 0) {
      throw new ChurnError("INVALID_REQUEST", `${label}: "${key}" must be a non-empty array of row indices`);
    }
    for (const index of list) {
      if (!Number.isInteger(index) || index < 0 || index >= rowCount) {
        throw new ChurnError(
          "INVALID_REQUEST",
          `${label}: "${key}" holds ${JSON.stringify(index)}, but row indices must be integers in [0, ${rowCount - 1}] (0-based data rows)`,
        );
      }
      const previous = seen.get(index);
      if (previous !== undefined) {
        const where = previous === key ? `twice in "${key}"` : `in both "train" and "test"`;
        throw new ChurnError("INVALID_REQUEST", `${label}: row ${index} appears ${where}`);
      }
      seen.set(index, key);
    }
    return [...(list as number[])].sort((a, b) => a - b);
  };
  return { train: part("train"), test: part("test") };
}

/**
 * Positions of at most `max` of `length` items, evenly spaced from `offset` (a fraction of one step, in
 * [0, 1)): a deterministic sample that keeps every part of the file's order, where a shuffle would need a seed.
 */
export function spreadPositions(length: number, max: number, offset = 0): number[] {
  if (length <= max) return Array.from({ length }, (_, i) => i);
  const step = length / max;
  return Array.from({ length: max }, (_, i) => Math.floor((i + offset) * step));
}

/** At most `max` of `items`, evenly spaced (see spreadPositions); `items` itself when it is small enough. */
export function evenlySpread<T>(items: readonly T[], max: number, offset = 0): readonly T[] {
  if (items.length <= max) return items;
  return spreadPositions(items.length, max, offset).map((p) => items[p]!);
}
