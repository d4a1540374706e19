import { describe, expect, it } from "vitest";
import {
  type BoosterParams,
  type BoostingData,
  trainBooster,
} from "../../trainer/src/ml/models/gbdt/booster.ts";
import { allocateFit } from "../../trainer/src/ml/models/gbdt/fit-layout.ts";
import { logisticGradients } from "../../trainer/src/ml/models/gbdt/gradients.ts";
import { GBDT_DEFAULTS } from "../../trainer/src/ml/models/gbdt/params.ts";
import { Arg, Phase, ThreadContext } from "../../trainer/src/ml/models/gbdt/phases.ts";
import { soloTeam, startTeam } from "../../trainer/src/ml/models/gbdt/team.ts";
import type { Tree } from "../../trainer/src/ml/models/gbdt/tree.ts";
import { createRandom, normal } from "../../trainer/src/ml/random.ts";

const PARAMS: BoosterParams = {
  ...GBDT_DEFAULTS,
  rounds: 12,
  learningRate: 0.3,
  maxDepth: 5,
  subsample: 1,
  colsampleByTree: 1,
  earlyStoppingRounds: 0,
  seed: 3,
};

/** Numeric columns (some missing, some few-valued), 0/1 indicators, and weights. */
function mixedData(rows: number, seed: number): BoostingData & { indicator: boolean[] } {
  const random = createRandom(seed);
  const numeric = 7;
  const columns = Array.from({ length: numeric + 3 }, () => new Float32Array(rows));
  const y = new Uint8Array(rows);
  const weights = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < numeric; c++) {
      columns[c]![r] =
        c === 1 && random() < 0.15 ? Number.NaN : c === 2 ? Math.round(normal(random)) : normal(random);
    }
    for (let c = numeric; c < columns.length; c++) columns[c]![r] = random() < 0.3 ? 1 : 0;
    const x1 = Number.isNaN(columns[1]![r]!) ? 1 : columns[1]![r]!;
    const logit = columns[0]![r]! - x1 * columns[2]![r]! + columns[numeric]![r]! - 0.5;
    y[r] = random() < 1 / (1 + Math.exp(-logit)) ? 1 : 0;
    weights[r] = 0.5 + random();
  }
  return { columns, y, weights, indicator: columns.map((_, c) => c >= numeric) };
}

function expectSameTrees(a: Tree[], b: Tree[]): void {
  expect(b.length).toBe(a.length);
  a.forEach((tree, t) => {
    for (const key of [
      "column",
      "threshold",
      "missingLeft",
      "left",
      "right",
      "value",
      "cover",
      "gain",
    ] as const) {
      expect(Array.from(b[t]![key]), `tree ${t} ${key}`).toEqual(Array.from(tree[key]));
    }
  });
}

describe("GBDT training on several threads", () => {
  const data = mixedData(6000, 1);
  const indicator = { indicator: data.indicator };

  it.each([
    ["depth-wise, missing values, weights and indicators", PARAMS],
    [
      "row and column sampling",
      { ...PARAMS, subsample: 0.7, colsampleByTree: 0.6, minChildWeight: 3, gamma: 0.05 },
    ],
    ["loss-guided", { ...PARAMS, growth: "lossguide", maxDepth: 0, maxLeaves: 13 }],
    ["depth-wise with a leaf budget", { ...PARAMS, maxDepth: 6, maxLeaves: 9 }],
    ["a random forest", { ...PARAMS, forest: true, learningRate: 1 / 12, maxDepth: 8, subsample: 0.632 }],
  ] as [string, BoosterParams][])("grows the same trees on two threads as on one: %s", (_, params) => {
    const one = trainBooster(data, params, indicator);
    const two = trainBooster(data, params, { ...indicator, threads: 2 });
    expectSameTrees(one.trees, two.trees);
    expect(Array.from(two.binMapper.valueBins)).toEqual(Array.from(one.binMapper.valueBins));
    expect(two.binMapper.edges.map((e) => Array.from(e))).toEqual(
      one.binMapper.edges.map((e) => Array.from(e)),
    );
  });

  it("stops early at the same round on two threads, scoring the validation rows alike", () => {
    const validation = mixedData(2000, 2);
    const params = { ...PARAMS, rounds: 300, learningRate: 0.5, earlyStoppingRounds: 5 };
    const one = trainBooster(data, params, { ...indicator, validation });
    const two = trainBooster(data, params, { ...indicator, validation, threads: 2 });
    expect(one.roundsRun).toBeLessThan(300);
    expect(two.roundsRun).toBe(one.roundsRun);
    expect(two.validationLoss).toEqual(one.validationLoss);
    expectSameTrees(one.trees, two.trees);
  });

  it("shares a phase's work with a worker thread, which gives the results one thread gives", async () => {
    const rows = 50_000;
    const shape = { rows, columns: 1, threads: 2, copyValues: false, maxBins: 255, seed: 1 };
    const rules = { lambda: 1, minChildWeight: 1, gamma: 0 };
    const { memory, layout } = allocateFit({ ...shape, rules });
    const ctx = new ThreadContext(memory.memory, layout, 0);
    const random = createRandom(9);
    for (let r = 0; r < rows; r++) {
      ctx.margin[r] = normal(random) * 3;
      ctx.labels[r] = random() < 0.4 ? 1 : 0;
      ctx.weights[r] = 1 + random();
    }
    const expected = new Float32Array(2 * rows);
    logisticGradients(ctx.margin, ctx.labels, ctx.weights, expected);
    ctx.args[Arg.count] = rows;

    const team = startTeam(ctx);
    try {
      const deadline = Date.now() + 20_000;
      while (team.workersReady() < 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      expect(team.workersReady()).toBe(1);
      // A busy machine may keep the worker off a core for a while: run the phase until it has taken part.
      while (team.sharesRun()[1] === 0 && Date.now() < deadline) {
        ctx.gradHess.fill(0);
        team.run(Phase.gradients, 64);
        expect(Array.from(ctx.gradHess)).toEqual(Array.from(expected));
      }
      expect(team.sharesRun()[1]).toBeGreaterThan(0);
    } finally {
      team.close();
    }
  });

  it("runs every share on the calling thread when there is no worker", () => {
    const { memory, layout } = allocateFit({
      rows: 10,
      columns: 1,
      threads: 1,
      copyValues: false,
      maxBins: 255,
      seed: 1,
      rules: { lambda: 1, minChildWeight: 1, gamma: 0 },
    });
    const ctx = new ThreadContext(memory.memory, layout, 0);
    ctx.args[Arg.count] = 10;
    const team = soloTeam(ctx);
    team.run(Phase.gradients, 3);
    expect(team.sharesRun()).toEqual([3]);
    expect(team.workersReady()).toBe(0);
    team.close();
  });

  it("treats a thread count below two, or none, as one thread", () => {
    const small = mixedData(500, 3);
    const base = trainBooster(small, { ...PARAMS, rounds: 3 });
    for (const threads of [0, 1, 1.5]) {
      expectSameTrees(base.trees, trainBooster(small, { ...PARAMS, rounds: 3 }, { threads }).trees);
    }
  });
});
