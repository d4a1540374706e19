import { describe, expect, it } from "vitest";
import type { BinnedMatrix } from "../../trainer/src/ml/models/gbdt/binning.ts";
import { SLOT } from "../../trainer/src/ml/models/gbdt/histogram.ts";
import {
  acceptsSplit,
  canSplit,
  emptyCandidate,
  findBestSplit,
  type GradStats,
  leafWeight,
  type SplitRules,
} from "../../trainer/src/ml/models/gbdt/split.ts";

/**
 * Split finding on hand-made histograms: each column is its value bins' [gradient, hessian] sums plus the
 * missing-value bin, so every expected split can be worked out on paper.
 */

type Bin = readonly [grad: number, hess: number];
interface ColumnHistogram {
  bins: Bin[];
  missing?: Bin;
}

function histogramOf(columns: ColumnHistogram[]) {
  const valueBins = Int32Array.from(columns, (c) => c.bins.length);
  const offsets = new Int32Array(columns.length);
  for (let c = 1; c < columns.length; c++) offsets[c] = offsets[c - 1]! + valueBins[c - 1]! + 1;
  const slots = offsets.at(-1)! + valueBins.at(-1)! + 1;
  const hist = new Float64Array(slots * SLOT);
  columns.forEach((column, c) => {
    [...column.bins, column.missing ?? [0, 0]].forEach(([g, h], b) => {
      hist[(offsets[c]! + b) * SLOT] = g;
      hist[(offsets[c]! + b) * SLOT + 1] = h;
    });
  });
  const binned: BinnedMatrix = {
    rows: 0,
    columns: columns.length,
    bins: new Uint8Array(),
    valueBins,
    offsets,
    slots,
  };
  // Every column holds all of the node's rows, so the first one's sums are the node's.
  const first = [...columns[0]!.bins, columns[0]!.missing ?? [0, 0]];
  const node: GradStats = {
    grad: first.reduce((s, [g]) => s + g, 0),
    hess: first.reduce((s, [, h]) => s + h, 0),
  };
  return { hist, binned, node, all: Int32Array.from(columns, (_, c) => c) };
}

const RULES: SplitRules = { lambda: 1, minChildWeight: 0, gamma: 0 };

function bestSplit(columns: ColumnHistogram[], rules: SplitRules = RULES) {
  const { hist, binned, node, all } = histogramOf(columns);
  return findBestSplit(hist, node, binned, all, rules, emptyCandidate());
}

/** ½ [G_L²/(H_L+λ) + G_R²/(H_R+λ) − G²/(H+λ)] with λ = 1. */
const gain = (left: Bin, right: Bin) => {
  const score = ([g, h]: Bin) => (g * g) / (h + 1);
  return 0.5 * (score(left) + score(right) - score([left[0] + right[0], left[1] + right[1]]));
};

describe("GBDT split finding", () => {
  it("starts from a candidate that is no split at all", () => {
    expect(emptyCandidate()).toEqual({
      gain: Number.NEGATIVE_INFINITY,
      column: -1,
      bin: -1,
      missingLeft: false,
      left: { grad: 0, hess: 0 },
      right: { grad: 0, hess: 0 },
    });
  });

  it("computes the optimal leaf value −G/(H+λ)", () => {
    expect(leafWeight(2, 3, 1)).toBe(-0.5);
    expect(leafWeight(-3, 1, 0.5)).toBe(2);
  });

  it("writes the split into the candidate it is given, with both children's sums", () => {
    const { hist, binned, node, all } = histogramOf([
      {
        bins: [
          [2, 1],
          [-2, 1],
        ],
      },
    ]);
    const out = emptyCandidate();
    const split = findBestSplit(hist, node, binned, all, RULES, out);
    expect(split).toBe(out);
    expect(split).toEqual({
      gain: gain([2, 1], [-2, 1]),
      column: 0,
      bin: 0,
      missingLeft: true,
      left: { grad: 2, hess: 1 },
      right: { grad: -2, hess: 1 },
    });
  });

  it("finds no split in a column with a single value and no missing ones", () => {
    const split = bestSplit([{ bins: [[3, 2]] }]);
    expect(split.column).toBe(-1);
    expect(split.gain).toBe(Number.NEGATIVE_INFINITY);
    expect(acceptsSplit(split, RULES)).toBe(false);
  });

  it("sends unseen missing values with the heavier child, the left one on a tie", () => {
    const heavierRight = bestSplit([
      {
        bins: [
          [2, 1],
          [-2, 3],
        ],
      },
    ]);
    expect(heavierRight.missingLeft).toBe(false);
    const heavierLeft = bestSplit([
      {
        bins: [
          [2, 3],
          [-2, 1],
        ],
      },
    ]);
    expect(heavierLeft.missingLeft).toBe(true);
    const even = bestSplit([
      {
        bins: [
          [2, 2],
          [-2, 2],
        ],
      },
    ]);
    expect(even.missingLeft).toBe(true);
  });

  it("can split all values from the missing ones", () => {
    // Values all push one way, missing rows the other: the only sensible split is values | missing.
    const split = bestSplit([
      {
        bins: [
          [1, 1],
          [1, 1],
        ],
        missing: [-3, 1],
      },
    ]);
    expect(split).toMatchObject({ column: 0, bin: 1, missingLeft: false });
    expect(split.left).toEqual({ grad: 2, hess: 2 });
    expect(split.right).toEqual({ grad: -3, hess: 1 });
    expect(split.gain).toBeCloseTo(gain([2, 2], [-3, 1]), 12);
  });

  it("sends missing values left when that gains more, at the last boundary too", () => {
    const split = bestSplit([
      {
        bins: [
          [2, 1],
          [-2, 1],
        ],
        missing: [2, 1],
      },
    ]);
    expect(split).toMatchObject({ column: 0, bin: 0, missingLeft: true });
    expect(split.left).toEqual({ grad: 4, hess: 2 });
    expect(split.right).toEqual({ grad: -2, hess: 1 });
    expect(split.gain).toBeCloseTo(gain([4, 2], [-2, 1]), 12);
  });

  it("keeps the earlier column and bin on equal gains", () => {
    const column: ColumnHistogram = {
      bins: [
        [2, 1],
        [-2, 1],
      ],
    };
    expect(bestSplit([column, column]).column).toBe(0);
    const withMissingLeft: ColumnHistogram = {
      bins: [
        [2, 1],
        [-2, 1],
      ],
      missing: [2, 1],
    };
    const split = bestSplit([withMissingLeft, withMissingLeft]);
    expect(split).toMatchObject({ column: 0, missingLeft: true });
    // x ≤ b0 and x ≤ b1 give the same gain here: the first boundary is kept.
    expect(
      bestSplit([
        {
          bins: [
            [1, 1],
            [0, 1],
            [-1, 1],
          ],
        },
      ]).bin,
    ).toBe(0);
  });

  it("finds the best split in a later column and reads that column's missing bin", () => {
    const split = bestSplit([
      {
        bins: [
          [0.5, 1],
          [-0.5, 1],
        ],
        missing: [0, 1],
      },
      {
        bins: [
          [3, 2],
          [-3, 1],
          [0, 0],
        ],
      },
    ]);
    expect(split).toMatchObject({ column: 1, bin: 0 });
    // The later column has no missing values: they follow the heavier (left) child.
    expect(split.missingLeft).toBe(true);
  });

  it("lets a child weigh exactly the minimum hessian, and no less", () => {
    const columns: ColumnHistogram[] = [
      {
        bins: [
          [2, 0.5],
          [0, 1],
          [-2, 1],
        ],
      },
    ];
    const leftAtMinimum = bestSplit(columns, { ...RULES, minChildWeight: 0.5 });
    expect(leftAtMinimum).toMatchObject({ column: 0, bin: 0 });
    expect(leftAtMinimum.left.hess).toBe(0.5);
    const rightAtMinimum = bestSplit(columns, { ...RULES, minChildWeight: 1 });
    expect(rightAtMinimum).toMatchObject({ column: 0, bin: 1 });
    expect(rightAtMinimum.right.hess).toBe(1);
    expect(bestSplit(columns, { ...RULES, minChildWeight: 1.01 }).column).toBe(-1);
  });

  it("never leaves a child without weight, even with no minimum", () => {
    // The first bin holds rows of zero weight: splitting them off would be a child with nothing in it.
    const split = bestSplit([
      {
        bins: [
          [5, 0],
          [1, 1],
          [-1, 1],
        ],
      },
    ]);
    expect(split.bin).toBe(1);
    expect(split.left).toEqual({ grad: 6, hess: 1 });
    const rightEmpty = bestSplit([
      {
        bins: [
          [1, 1],
          [-1, 1],
          [5, 0],
        ],
      },
    ]);
    expect(rightEmpty.bin).toBe(0);
  });

  it("accepts a split only for a real column with a gain above gamma and above zero", () => {
    const split = { ...emptyCandidate(), column: 0, gain: 0.5 };
    expect(acceptsSplit(split, { ...RULES, gamma: 0.4 })).toBe(true);
    expect(acceptsSplit(split, { ...RULES, gamma: 0.5 })).toBe(false);
    expect(acceptsSplit({ ...split, column: -1 }, RULES)).toBe(false);
    expect(acceptsSplit({ ...split, gain: 1e-13 }, RULES)).toBe(false);
    expect(acceptsSplit({ ...split, gain: 1e-11 }, RULES)).toBe(true);
  });

  it("tries to split a node only with two rows and room for two children's weight", () => {
    const rules = { ...RULES, minChildWeight: 1 };
    expect(canSplit({ grad: 0, hess: 2 }, 2, rules)).toBe(true);
    expect(canSplit({ grad: 0, hess: 2 }, 1, rules)).toBe(false);
    expect(canSplit({ grad: 0, hess: 1.99 }, 2, rules)).toBe(false);
    expect(canSplit({ grad: 0, hess: 0 }, 5, RULES)).toBe(false);
    expect(canSplit({ grad: 0, hess: 2e-12 }, 5, RULES)).toBe(true);
  });
});
