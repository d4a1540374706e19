import type {
  ExplainerColumn,
  ExplainerFeature,
  ExplainerLinear,
  ExplainerMlp,
  ExplainerPackage,
  ExplainerTree,
} from "#shared/explainer.ts";
import { EXPLAINER_FORMAT, EXPLAINER_VERSION } from "#shared/explainer.ts";
import { expectedMargin } from "#shared/model-runtime/explainer.ts";
import type { ShapTree } from "#shared/model-runtime/treeshap.ts";

/**
 * Writes a trained model's explainer package (the format lives in shared/src/explainer.ts): float32
 * values as their shortest decimal, and the expected margin over the rounded values the readers will use.
 */
export function createExplainerPackage(input: {
  features: ExplainerFeature[];
  columns: ExplainerColumn[];
  baseScore: number;
  trees: readonly ShapTree[];
  linear?: ExplainerLinear[];
  mlp?: ExplainerMlp[];
}): ExplainerPackage {
  const trees = input.trees.map((tree): ExplainerTree => {
    const nodes = Array.from({ length: tree.feature.length }, (_, n) => n);
    const isLeaf = (n: number) => tree.feature[n]! < 0;
    const splitField = (values: ArrayLike<number>) => nodes.map((n) => (isLeaf(n) ? 0 : values[n]!));
    return {
      feature: nodes.map((n) => tree.feature[n]!),
      threshold: nodes.map((n) => (isLeaf(n) ? 0 : shortestFloat32(tree.threshold[n]!))),
      missingLeft: splitField(tree.missingLeft),
      left: splitField(tree.left),
      right: splitField(tree.right),
      value: nodes.map((n) => (isLeaf(n) ? shortestFloat32(tree.value[n]!) : 0)),
      cover: nodes.map((n) => shortestFloat32(tree.cover[n]!)),
    };
  });
  const draft: ExplainerPackage = {
    format: EXPLAINER_FORMAT,
    version: EXPLAINER_VERSION,
    features: input.features,
    columns: input.columns,
    baseScore: shortestFloat32(input.baseScore),
    baseMargin: 0,
    trees,
    ...(input.linear && input.linear.length > 0 ? { linear: input.linear.map(roundLinear) } : {}),
    ...(input.mlp && input.mlp.length > 0 ? { mlp: input.mlp.map(roundMlp) } : {}),
  };
  // The expected value is taken over the rounded covers the explainer will actually use.
  return { ...draft, baseMargin: expectedMargin(draft) };
}

function roundMlp(part: ExplainerMlp): ExplainerMlp {
  const r = (values: readonly number[]) => values.map(shortestFloat32);
  return {
    numeric: part.numeric.map((n) => ({
      feature: n.feature,
      mean: shortestFloat32(n.mean),
      std: shortestFloat32(n.std),
      steps: r(n.steps),
    })),
    categorical: part.categorical.map((c) => ({ feature: c.feature, categories: [...c.categories] })),
    hidden: part.hidden,
    w1: r(part.w1),
    b1: r(part.b1),
    w2: r(part.w2),
    b2: shortestFloat32(part.b2),
    reference: r(part.reference),
  };
}

function roundLinear(part: ExplainerLinear): ExplainerLinear {
  const r = (values: readonly number[]) => values.map(shortestFloat32);
  return {
    intercept: shortestFloat32(part.intercept),
    offsets: r(part.offsets),
    numeric: part.numeric.map((n) => ({
      feature: n.feature,
      mean: shortestFloat32(n.mean),
      std: shortestFloat32(n.std),
      weight: shortestFloat32(n.weight),
      steps: r(n.steps),
      stepWeights: r(n.stepWeights),
    })),
    categorical: part.categorical.map((c) => ({
      feature: c.feature,
      categories: [...c.categories],
      weights: r(c.weights),
    })),
  };
}

/** Shortest decimal that rounds to the same float32, so the JSON stays small and exact. */
export function shortestFloat32(value: number): number {
  const target = Math.fround(value);
  for (let digits = 1; digits < 9; digits++) {
    const candidate = Number(target.toPrecision(digits));
    if (Math.fround(candidate) === target) return candidate;
  }
  return Number(target.toPrecision(9));
}
