import type { DecodedAttribute, DecodedTensor } from "./model-proto.ts";
import {
  axisOf,
  broadcast,
  type Dim,
  fixed,
  formatShape,
  ONE,
  product,
  type Shape,
  ShapeError,
  sameDim,
} from "./shapes.ts";

/** A node's input as the shape rules see it: its shape, and its contents when it is an initializer. */
export interface OperatorInput {
  readonly shape: Shape;
  readonly constant: DecodedTensor | undefined;
}

export interface OperatorCall {
  /** One entry per declared input; undefined where an optional input is left out (""). */
  readonly inputs: readonly (OperatorInput | undefined)[];
  attribute(name: string): DecodedAttribute | undefined;
}

export interface OperatorRule {
  /** How many inputs the operator takes, fewest and most. */
  readonly arity: readonly [number, number];
  /** Outputs it can produce; a node may declare fewer. */
  readonly outputs: number;
  /** The shapes of its outputs, from its inputs' shapes and its attributes. */
  shapes(call: OperatorCall): Shape[];
  /** Multiply-adds of one run (size × batch^power), for the operators whose work is not their output size. */
  multiplyAdds?(call: OperatorCall): Dim;
}

export const ONNX_DOMAIN = "";
export const ML_DOMAIN = "ai.onnx.ml";

const input = (call: OperatorCall, k: number): OperatorInput => {
  const value = call.inputs[k];
  if (!value) throw new ShapeError(`input ${k} is required`);
  return value;
};
const present = (call: OperatorCall): Shape[] =>
  call.inputs.filter((v): v is OperatorInput => v !== undefined).map((v) => v.shape);
const intAttribute = (call: OperatorCall, name: string, fallback: number): number =>
  call.attribute(name)?.i ?? fallback;
/** Entries in a list attribute, whichever list (ints, floats, strings) holds them. */
const listLength = (attribute: DecodedAttribute | undefined): number =>
  attribute ? attribute.ints + attribute.floats + attribute.strings : 0;

const sameShape: OperatorRule = { arity: [1, 1], outputs: 1, shapes: (call) => [input(call, 0).shape] };

const elementwise = (arity: readonly [number, number]): OperatorRule => ({
  arity,
  outputs: 1,
  shapes: (call) => [broadcast(present(call))],
});

const flatten: OperatorRule = {
  arity: [1, 1],
  outputs: 1,
  shapes(call) {
    const shape = input(call, 0).shape;
    const axis = axisOf(intAttribute(call, "axis", 1), shape.length, true);
    return [[product(shape.slice(0, axis)), product(shape.slice(axis))]];
  },
};

const concat: OperatorRule = {
  arity: [1, 2048],
  outputs: 1,
  shapes(call) {
    const shapes = present(call);
    const first = shapes[0]!;
    const axisValue = call.attribute("axis")?.i;
    if (axisValue === undefined) throw new ShapeError("attribute 'axis' is required");
    const axis = axisOf(axisValue, first.length);
    let joined: Dim = { size: 0, power: first[axis]!.power };
    for (const shape of shapes) {
      if (shape.length !== first.length || shape.some((d, k) => k !== axis && !sameDim(d, first[k]!)))
        throw new ShapeError(`cannot concatenate ${shapes.map(formatShape).join(", ")} on axis ${axis}`);
      const d = shape[axis]!;
      if (d.power !== joined.power)
        throw new ShapeError(`cannot concatenate batch-sized and fixed-size parts on axis ${axis}`);
      joined = { size: joined.size + d.size, power: d.power };
    }
    return [first.map((d, k) => (k === axis ? joined : d))];
  },
};

const gather: OperatorRule = {
  arity: [2, 2],
  outputs: 1,
  shapes(call) {
    const data = input(call, 0).shape;
    const indices = input(call, 1).shape;
    const axis = axisOf(intAttribute(call, "axis", 0), data.length);
    return [[...data.slice(0, axis), ...indices, ...data.slice(axis + 1)]];
  },
};

/** [.., M, K] × [.., K, P] with numpy's rules for 1-D operands; also returns K. */
function matmulShape(a: Shape, b: Shape): { shape: Shape; inner: Dim } {
  if (a.length === 0 || b.length === 0) throw new ShapeError("MatMul needs operands of rank 1 or more");
  const left = a.length === 1 ? [ONE, a[0]!] : a;
  const right = b.length === 1 ? [b[0]!, ONE] : b;
  const inner = left[left.length - 1]!;
  if (!sameDim(inner, right[right.length - 2]!))
    throw new ShapeError(`cannot multiply ${formatShape(a)} by ${formatShape(b)}`);
  const stacked = broadcast([left.slice(0, -2), right.slice(0, -2)]);
  const rows = a.length === 1 ? [] : [left[left.length - 2]!];
  const columns = b.length === 1 ? [] : [right[right.length - 1]!];
  return { shape: [...stacked, ...rows, ...columns], inner };
}

const matmul: OperatorRule = {
  arity: [2, 2],
  outputs: 1,
  shapes: (call) => [matmulShape(input(call, 0).shape, input(call, 1).shape).shape],
  multiplyAdds(call) {
    const { shape, inner } = matmulShape(input(call, 0).shape, input(call, 1).shape);
    return product([...shape, inner]);
  },
};

function gemmParts(call: OperatorCall): { m: Dim; k: Dim; p: Dim } {
  const a = input(call, 0).shape;
  const b = input(call, 1).shape;
  if (a.length !== 2 || b.length !== 2) throw new ShapeError("Gemm needs two 2-D operands");
  const [m, k] = intAttribute(call, "transA", 0) ? [a[1]!, a[0]!] : [a[0]!, a[1]!];
  const [k2, p] = intAttribute(call, "transB", 0) ? [b[1]!, b[0]!] : [b[0]!, b[1]!];
  if (!sameDim(k, k2)) throw new ShapeError(`cannot multiply ${formatShape(a)} by ${formatShape(b)}`);
  return { m, k, p };
}

const gemm: OperatorRule = {
  arity: [2, 3],
  outputs: 1,
  shapes(call) {
    const { m, p } = gemmParts(call);
    const c = call.inputs[2];
    // C broadcasts to [M, P] and may not widen it.
    const widened = c ? broadcast([[m, p], c.shape]) : [m, p];
    if (widened.length !== 2 || !sameDim(widened[0]!, m) || !sameDim(widened[1]!, p))
      throw new ShapeError(`bias ${formatShape(c!.shape)} does not broadcast to [M, P]`);
    return [[m, p]];
  },
  multiplyAdds(call) {
    const { m, k, p } = gemmParts(call);
    return product([m, k, p]);
  },
};

const reduceSum: OperatorRule = {
  arity: [1, 2],
  outputs: 1,
  shapes(call) {
    const data = input(call, 0).shape;
    const axesInput = call.inputs[1];
    let axes: number[];
    if (axesInput) {
      const values = axesInput.constant?.int64Values;
      if (!values) throw new ShapeError("its axes must be a small constant INT64 initializer");
      axes = values;
    } else {
      axes = call.attribute("axes")?.readInts() ?? [];
    }
    const keep = intAttribute(call, "keepdims", 1) !== 0;
    if (axes.length === 0) {
      if (intAttribute(call, "noop_with_empty_axes", 0) !== 0) return [data];
      axes = data.map((_, k) => k);
    }
    const reduced = new Set(axes.map((a) => axisOf(a, data.length)));
    const out: Dim[] = [];
    data.forEach((d, k) => {
      if (!reduced.has(k)) out.push(d);
      else if (keep) out.push(ONE);
    });
    return [out];
  },
};

/** The rows of a per-row model's input: its first dimension (a 1-D input is one row). */
const rowsOf = (shape: Shape): Dim => (shape.length >= 2 ? shape[0]! : ONE);

/** ai.onnx.ml classifiers: label [rows] and scores [rows, classes]; a binary one scores two columns. */
function classifierShapes(call: OperatorCall): Shape[] {
  const rows = rowsOf(input(call, 0).shape);
  const labels = Math.max(
    listLength(call.attribute("classlabels_strings")),
    listLength(call.attribute("classlabels_ints")),
    listLength(call.attribute("classlabels_int64s")),
  );
  return [[rows], [rows, fixed(Math.max(2, labels))]];
}

/**
 * The operators a published graph may use, by domain: every one `churn train` emits for any model family
 * (logistic regression, GBDT, random forest, MLP and their ensembles; trainer/src/ml/export/), plus the few
 * classic-ML ones a scikit-learn or XGBoost export of the same families needs (bring your own model,
 * docs/control-plane.md). None runs a subgraph, reads files, allocates from a runtime value (Expand, Tile,
 * ConstantOfShape, Range, Resize, Reshape to a computed shape…) or loops: each output's size follows from
 * its inputs' shapes, which is what lets the shapes be checked at publish.
 */
export const ALLOWED_OPERATORS: Readonly<Record<string, Readonly<Record<string, OperatorRule>>>> = {
  [ONNX_DOMAIN]: {
    // Imputation and scaling (export/logistic.ts), calibration (export/calibration.ts), ensemble sums.
    Add: elementwise([2, 2]),
    Sub: elementwise([2, 2]),
    Mul: elementwise([2, 2]),
    Div: elementwise([2, 2]),
    Where: elementwise([3, 3]),
    IsNaN: sameShape,
    // Isotonic calibration (Max, Min, ReduceSum) and step columns (Gather, Greater, Cast).
    Max: elementwise([1, 2048]),
    Min: elementwise([1, 2048]),
    ReduceSum: reduceSum,
    Gather: gather,
    Greater: elementwise([2, 2]),
    Cast: sameShape,
    // One-hot blocks joined into the encoded matrix (export/inputs.ts).
    Flatten: flatten,
    Concat: concat,
    // Linear contributions (MatMul), the MLP's layers (Gemm, Relu), the probability (Sigmoid).
    MatMul: matmul,
    Gemm: gemm,
    Relu: sameShape,
    Sigmoid: sameShape,
    // Not emitted by the trainer; skl2onnx inserts it between converters.
    Identity: sameShape,
  },
  [ML_DOMAIN]: {
    // Categorical inputs (export/inputs.ts): [rows, 1] strings → [rows, 1, categories].
    OneHotEncoder: {
      arity: [1, 1],
      outputs: 1,
      shapes(call) {
        const categories =
          listLength(call.attribute("cats_strings")) + listLength(call.attribute("cats_int64s"));
        return [[...input(call, 0).shape, fixed(categories)]];
      },
    },
    // Trees of GBDT and random-forest members, merged (export/gbdt.ts): [rows, n_targets].
    TreeEnsembleRegressor: {
      arity: [1, 1],
      outputs: 1,
      shapes: (call) => [[rowsOf(input(call, 0).shape), fixed(intAttribute(call, "n_targets", 1))]],
    },
    // Bring your own model: scikit-learn's LogisticRegression, StandardScaler, SimpleImputer and tree
    // classifiers (and XGBoost's, through onnxmltools), as skl2onnx writes them.
    LinearClassifier: {
      arity: [1, 1],
      outputs: 2,
      shapes: classifierShapes,
      // One multiply-add per coefficient (classes × features) per row.
      multiplyAdds: (call) =>
        product([rowsOf(input(call, 0).shape), fixed(listLength(call.attribute("coefficients")))]),
    },
    TreeEnsembleClassifier: { arity: [1, 1], outputs: 2, shapes: classifierShapes },
    Normalizer: sameShape,
    Scaler: sameShape,
    Imputer: sameShape,
  },
};
