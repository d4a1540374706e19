import { describe, expect, it } from "vitest";
import { parseExplainerPackage } from "#shared/explainer.ts";
import { compileReluNet, explainReluRow } from "#shared/model-runtime/deeplift.ts";
import { createExplainer } from "#shared/model-runtime/explainer.ts";
import { fitCandidate } from "../../trainer/src/ml/automl/candidates.ts";
import { batchFromDataset } from "../../trainer/src/ml/features.ts";
import { rocAuc } from "../../trainer/src/ml/metrics.ts";
import { composeModel } from "../../trainer/src/ml/models/composite.ts";
import {
  checkMlpParams,
  fitMlpModel,
  MLP_DEFAULTS,
  type MlpParams,
  mlpExplain,
} from "../../trainer/src/ml/models/mlp.ts";
import { encode } from "../../trainer/src/ml/preprocess.ts";
import { range, telcoDataset } from "./fixtures.ts";

const dataset = telcoDataset(1500, 21);
const train = { dataset, rows: range(1000) };
const holdoutRows = range(500, 1000);
const quick: MlpParams = { ...MLP_DEFAULTS, epochs: 40 };

describe("MLP training", () => {
  it("learns the signal, keeps its best validation epoch and is reproducible for a seed", () => {
    const model = fitMlpModel(train, quick);
    const batch = batchFromDataset(dataset, holdoutRows);
    const y = holdoutRows.map((r) => dataset.target.y[r]!);
    expect(rocAuc(y, Array.from(model.predictMargin(batch)))).toBeGreaterThan(0.75);
    const { bestEpochs, epochsRun, validationRows, fitRows } = model.params as Record<string, number>;
    expect(bestEpochs).toBeGreaterThanOrEqual(1);
    expect(bestEpochs).toBeLessThanOrEqual(epochsRun!);
    expect(epochsRun! === quick.epochs || epochsRun! - bestEpochs! === quick.patience).toBe(true);
    expect(validationRows).toBe(100);
    expect(fitRows).toBe(900);

    const again = fitMlpModel(train, quick);
    expect(Array.from(again.data.w1)).toEqual(Array.from(model.data.w1));
    const other = fitMlpModel(train, { ...quick, seed: 7 });
    expect(Array.from(other.data.w1)).not.toEqual(Array.from(model.data.w1));
  });

  it("trains exactly the given epochs on every row for the final refit", () => {
    const candidate = { id: "mlp", family: "mlp" as const, params: quick };
    const fitted = fitCandidate(candidate, dataset, train.rows, 5);
    expect(fitted.model.params).toMatchObject({ epochsRun: 5, bestEpochs: 5, fitRows: 1000, patience: 0 });
    expect(fitted.rounds).toBe(5);
  });

  it("refuses parameters it cannot train with, naming them", () => {
    expect(() => checkMlpParams({ ...quick, hidden: 0 })).toThrow(/hidden/);
    expect(() => checkMlpParams({ ...quick, learningRate: 0 })).toThrow(/learningRate/);
    expect(() => checkMlpParams({ ...quick, epochs: 1.5 })).toThrow(/epochs/);
    expect(() => checkMlpParams({ ...quick, validationFraction: 1 })).toThrow(/validationFraction/);
  });
});

describe("MLP explanations (DeepLIFT rescale)", () => {
  it("sum to margin − base margin on every row, and equal the linear terms where no unit changes side", () => {
    const model = fitMlpModel(train, quick);
    const rows = range(200, 700);
    const encoded = encode(model.data.preprocessor, batchFromDataset(dataset, rows));
    const { margins, contributions } = mlpExplain(model.data, encoded, rows.length);
    const width = model.features.length;
    const graphMargins = model.predictMargin(batchFromDataset(dataset, rows));
    for (let r = 0; r < rows.length; r++) {
      let sum = model.baseMargin;
      for (let j = 0; j < width; j++) sum += contributions[r * width + j]!;
      expect(Math.abs(sum - margins[r]!)).toBeLessThan(1e-9);
      expect(Math.abs(margins[r]! - graphMargins[r]!)).toBeLessThan(1e-5);
    }
  });

  it("matches a hand computation on a two-unit network", () => {
    // Unit 0 is active at x and at the reference (passes its change on whole), unit 1 switches on at x.
    const net = {
      hidden: 2,
      width: 2,
      w1: [1, 2, -1, 3],
      b1: [0.5, -1],
      w2: [2, -1],
      b2: 0.25,
      reference: [1, 0],
    };
    const compiled = compileReluNet(net);
    // z0 = [1.5, -2] -> base = 0.25 + 2·1.5 = 3.25
    expect(compiled.baseMargin).toBeCloseTo(3.25, 12);
    const out = new Float64Array(2);
    const margin = explainReluRow(compiled, [1, 2], 0, [0, 1], out, 0);
    // z = [5.5, 4]: margin = 0.25 + 2·5.5 − 4 = 7.25; unit 1's share = −1·4/(4 − (−2)) = −2/3.
    expect(margin).toBeCloseTo(7.25, 12);
    expect(out[0]).toBeCloseTo(0, 12); // feature 0 did not move
    expect(out[1]).toBeCloseTo(2 * 2 * 2 + (-2 / 3) * 3 * 2, 12);
    expect(out[0]! + out[1]!).toBeCloseTo(margin - compiled.baseMargin, 12);
  });

  it("ship in the explainer package the edge validates, which refuses a malformed network", () => {
    const model = composeModel([{ model: fitMlpModel(train, quick), weight: 1 }], { method: "none" }, {});
    const pkg = JSON.parse(JSON.stringify(model.explainer));
    expect(pkg.trees).toEqual([]);
    expect(pkg.mlp).toHaveLength(1);
    const batch = batchFromDataset(dataset, range(20));
    const out = createExplainer(parseExplainerPackage(pkg)).explain(
      pkg.features.map((f: { name: string }) => batch.values[f.name]!),
      batch.rows,
    );
    const phi = model.contributions(batch);
    for (let i = 0; i < phi.length; i++) expect(Math.abs(out.contributions[i]! - phi[i]!)).toBeLessThan(1e-5);

    const broken = structuredClone(pkg);
    broken.mlp[0].w1.pop();
    expect(() => parseExplainerPackage(broken)).toThrow(/mlp part 0: w1 must hold/);
    const wrongFeature = structuredClone(pkg);
    wrongFeature.mlp[0].categorical[0].feature = wrongFeature.mlp[0].numeric[0].feature;
    expect(() => parseExplainerPackage(wrongFeature)).toThrow(/mlp part 0: a categorical input/);
  });
});
