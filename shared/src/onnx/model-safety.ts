import { ChurnError } from "../errors.ts";
import { MODEL_BOUNDS, type ModelBounds } from "./model-bounds.ts";
import {
  AttributeType,
  type DecodedAttribute,
  type DecodedGraph,
  type DecodedModel,
  type DecodedNode,
  type DecodedTensor,
  type DecodedValueInfo,
  decodeModel,
  ModelDecodeError,
  ModelLimitError,
  TENSOR_ELEMENT_BYTES,
} from "./model-proto.ts";
import { ALLOWED_OPERATORS, ML_DOMAIN, ONNX_DOMAIN, type OperatorInput } from "./operators.ts";
import { refuse } from "./refusal.ts";
import { BATCH, type Dim, fixed, formatShape, ONE, product, type Shape, ShapeError } from "./shapes.ts";
import { treeSteps } from "./trees.ts";

/** What a graph that passed costs, for the edge's per-request budget and for tests. */
export interface ModelFootprint {
  nodes: number;
  initializerElements: number;
  attributeValues: number;
  treeNodes: number;
  /** Values all computed tensors hold per record, summed: the memory one more record takes. */
  elementsPerRecord: number;
  multiplyAddsPerRecord: number;
  treeStepsPerRecord: number;
}

/** "" and "ai.onnx" are the same default domain. */
const domainOf = (domain: string): string => (domain === "ai.onnx" ? ONNX_DOMAIN : domain);
const operatorName = (domain: string, opType: string) => (domain === "" ? opType : `${domain}:${opType}`);
const nodeLabel = (node: DecodedNode, index: number) =>
  `node ${node.name ? `'${node.name}'` : `#${index}`} (${operatorName(domainOf(node.domain), node.opType)})`;

/**
 * Decides whether an uploaded ONNX model may run at the edge, before anything loads it: it must be one
 * plain graph of allow-listed operators (no subgraphs, functions, external data or training graphs),
 * within `MODEL_BOUNDS`, and its shapes, followed from [batch, 1] inputs through every node, may grow no
 * faster than the batch. Throws INVALID_MODEL naming the first node, operator or tensor at fault.
 */
export function checkModelSafety(bytes: Uint8Array, bounds: ModelBounds = MODEL_BOUNDS): ModelFootprint {
  let model: DecodedModel;
  try {
    model = decodeModel(bytes, {
      // Nothing past a bound is kept: the refusal comes before the rest of the model is read.
      opsetImports: bounds.maxOpsetImports,
      nodes: bounds.maxNodes,
      initializers: bounds.maxInitializers,
      graphInputs: bounds.maxGraphInputs,
      graphOutputs: bounds.maxGraphOutputs,
      valueInfos: bounds.maxValueInfos,
      nodeValues: bounds.maxNodeValues,
      nodeAttributes: bounds.maxNodeAttributes,
      rank: bounds.maxRank,
    });
  } catch (err) {
    if (err instanceof ModelLimitError)
      throw refuse(`it has more than ${err.limit} ${err.what}; that is the limit`);
    if (!(err instanceof ModelDecodeError)) throw err;
    throw new ChurnError(
      "INVALID_MODEL",
      `The ONNX model does not load: it is not a readable ModelProto (${err.message})`,
    );
  }
  checkEnvelope(model, bounds);
  const graph = model.graph!;
  const imported = new Set(model.opsetImports.map((o) => domainOf(o.domain)));
  const constants = checkInitializers(graph, bounds);
  for (const info of [...graph.inputs, ...graph.outputs, ...graph.valueInfo]) checkValueInfo(info, bounds);
  const { attributeValues, treeNodes, treeStepsPerRecord } = checkNodes(graph, imported, bounds);
  const foreign = model.opsetImports.find((o) => bounds.opsets[domainOf(o.domain)] === undefined);
  if (foreign)
    throw refuse(`it imports operator set '${foreign.domain}'; only ai.onnx and ai.onnx.ml are allowed`);
  const flow = followShapes(graph, constants, bounds);
  return {
    nodes: graph.nodes.length,
    initializerElements: [...constants.values()].reduce((sum, t) => sum + elementsOf(t.dims), 0),
    attributeValues,
    treeNodes,
    elementsPerRecord: flow.elementsPerRecord,
    multiplyAddsPerRecord: flow.multiplyAddsPerRecord,
    treeStepsPerRecord,
  };
}

/** The model around the graph: one graph, no functions or training graphs, known IR and opsets. */
function checkEnvelope(model: DecodedModel, bounds: ModelBounds): void {
  if (model.unknownFields.length > 0)
    throw refuse(`it uses ${model.unknownFields[0]}, which the publish check does not know`);
  if (model.functions > 0)
    throw refuse(`it defines ${model.functions} model-local function(s); only plain graphs may be published`);
  if (model.trainingInfo > 0) throw refuse("it carries training graphs (training_info)");
  if (model.graphFields !== 1 || !model.graph)
    throw refuse(model.graphFields === 0 ? "it has no graph" : "it has more than one graph field");
  const ir = model.irVersion;
  if (ir === undefined || ir < bounds.irVersion.min || ir > bounds.irVersion.max)
    throw refuse(`IR version ${ir ?? "(none)"} is outside ${bounds.irVersion.min}–${bounds.irVersion.max}`);
  const seen = new Set<string>();
  for (const { domain: raw, version } of model.opsetImports) {
    const domain = domainOf(raw);
    const range = bounds.opsets[domain];
    // A foreign domain is refused after the nodes are checked, so that one using it is named.
    if (!range) continue;
    if (seen.has(domain)) throw refuse(`it imports operator set '${raw || "ai.onnx"}' twice`);
    seen.add(domain);
    if (version < range.min || version > range.max)
      throw refuse(
        `opset ${version} of '${domain || "ai.onnx"}' is outside ${range.min}–${range.max} (export with an opset in that range)`,
      );
  }
  if (!seen.has(ONNX_DOMAIN)) throw refuse("it imports no ai.onnx operator set");
  const graph = model.graph;
  if (graph.sparseInitializers > 0) throw refuse("it has sparse initializers");
}

const elementsOf = (dims: readonly number[]) => dims.reduce((n, d) => n * d, 1);

/** Dimensions, element count and data of a tensor stored in the model (initializer or attribute). */
function checkTensor(tensor: DecodedTensor, where: string, bounds: ModelBounds): number {
  if (tensor.external) throw refuse(`${where} keeps its data in an external file (external data)`);
  if (tensor.segmented) throw refuse(`${where} is a segment of a split tensor`);
  for (const d of tensor.dims) {
    if (d < 0 || d > bounds.maxDimension)
      throw refuse(`${where} has a dimension of ${d}; at most ${bounds.maxDimension} is allowed`);
  }
  const elements = elementsOf(tensor.dims);
  if (elements > bounds.maxTensorElements)
    throw refuse(`${where} has ${elements} values; at most ${bounds.maxTensorElements} are allowed`);
  const width = TENSOR_ELEMENT_BYTES[tensor.dataType];
  if (width === undefined) throw refuse(`${where} has unsupported data type ${tensor.dataType}`);
  const held = tensor.rawBytes !== undefined && width > 0 ? tensor.rawBytes / width : tensor.typedValues;
  if (tensor.rawBytes !== undefined && (width === 0 || tensor.typedValues > 0))
    throw refuse(`${where} mixes raw_data with typed values`);
  if (held !== elements)
    throw refuse(`${where} declares ${elements} values (${JSON.stringify(tensor.dims)}) but holds ${held}`);
  return elements;
}

function checkInitializers(graph: DecodedGraph, bounds: ModelBounds): Map<string, DecodedTensor> {
  const constants = new Map<string, DecodedTensor>();
  let total = 0;
  for (const tensor of graph.initializers) {
    const where = `initializer '${tensor.name}'`;
    if (constants.has(tensor.name)) throw refuse(`${where} is defined twice`);
    total += checkTensor(tensor, where, bounds);
    if (total > bounds.maxInitializerElements)
      throw refuse(
        `initializers hold more than ${bounds.maxInitializerElements} values (at ${where}); that is the limit`,
      );
    constants.set(tensor.name, tensor);
  }
  return constants;
}

function checkValueInfo(info: DecodedValueInfo, bounds: ModelBounds): void {
  const where = `value '${info.name}'`;
  if (info.kind !== "tensor" && info.kind !== "none")
    throw refuse(`${where} is a ${info.kind.replace("_", " ")}; only tensors are allowed`);
  for (const d of info.shape ?? []) {
    if (typeof d === "number" && (d < 0 || d > bounds.maxDimension))
      throw refuse(`${where} declares a dimension of ${d}; at most ${bounds.maxDimension} is allowed`);
  }
}

/** Operators, their attributes and the trees they hold. */
function checkNodes(graph: DecodedGraph, imported: ReadonlySet<string>, bounds: ModelBounds) {
  let attributeValues = 0;
  let treeNodes = 0;
  let treeStepsPerRecord = 0;
  graph.nodes.forEach((node, index) => {
    const label = nodeLabel(node, index);
    const domain = domainOf(node.domain);
    const names = new Set<string>();
    for (const attribute of node.attributes) {
      const where = `attribute '${attribute.name}' of ${label}`;
      // Runtimes differ on which of two same-named attributes wins; the shapes here must be the ones run.
      if (names.has(attribute.name)) throw refuse(`${where} is given twice`);
      names.add(attribute.name);
      if (
        attribute.graphs > 0 ||
        attribute.type === AttributeType.GRAPH ||
        attribute.type === AttributeType.GRAPHS
      )
        throw refuse(`${where} is a subgraph; control flow (If, Loop, Scan) is not allowed`);
      if (attribute.otherValues > 0 || attribute.type > AttributeType.GRAPHS)
        throw refuse(`${where} holds sparse tensors or types, which no allowed operator takes`);
      if (attribute.refAttrName) throw refuse(`${where} refers to a function attribute`);
      attributeValues += attributeSize(attribute, where, bounds);
    }
    const rule = ALLOWED_OPERATORS[domain]?.[node.opType];
    if (!rule) {
      const allowed = Object.entries(ALLOWED_OPERATORS)
        .flatMap(([d, ops]) => Object.keys(ops).map((op) => operatorName(d, op)))
        .join(", ");
      throw refuse(`${label} uses an operator that is not allowed (allowed: ${allowed})`);
    }
    if (!imported.has(domain)) throw refuse(`${label} is in a domain the model does not import`);
    if (node.overload) throw refuse(`${label} names a function overload`);
    if (attributeValues > bounds.maxAttributeValues)
      throw refuse(
        `node attributes hold more than ${bounds.maxAttributeValues} values (at ${label}); that is the limit`,
      );
    if (domain === ML_DOMAIN && node.opType.startsWith("TreeEnsemble")) {
      const trees = treeSteps(node, label, bounds.maxTreeNodes - treeNodes);
      treeNodes += trees.nodes;
      treeStepsPerRecord += trees.steps;
      if (treeStepsPerRecord > bounds.maxTreeStepsPerRecord)
        throw refuse(
          `tree ensembles take more than ${bounds.maxTreeStepsPerRecord} steps per record (at ${label})`,
        );
    }
  });
  return { attributeValues, treeNodes, treeStepsPerRecord };
}

function attributeSize(attribute: DecodedAttribute, where: string, bounds: ModelBounds): number {
  let size = attribute.ints + attribute.floats + attribute.strings;
  attribute.tensors.forEach((tensor, k) => {
    size += checkTensor(tensor, attribute.tensors.length > 1 ? `tensor ${k} of ${where}` : where, bounds);
  });
  return size;
}

/**
 * Follows shapes through the graph in dependency order, from graph inputs of [batch, 1] (what the edge
 * feeds) and the initializers. Every computed tensor must grow at most linearly with the batch and stay
 * within the per-record and per-tensor bounds; matrix products add up to the multiply-add bound.
 */
function followShapes(
  graph: DecodedGraph,
  constants: ReadonlyMap<string, DecodedTensor>,
  bounds: ModelBounds,
): { elementsPerRecord: number; multiplyAddsPerRecord: number } {
  const values = new Map<string, OperatorInput>();
  for (const [name, tensor] of constants)
    values.set(name, { shape: tensor.dims.map(fixed), constant: tensor });
  for (const info of graph.inputs) {
    if (values.has(info.name)) continue;
    const declared = info.shape;
    const column = declared?.[1];
    if (declared && (declared.length !== 2 || (typeof column === "number" && column !== 1)))
      throw refuse(
        `graph input '${info.name}' is declared with shape [${declared.map((d) => d ?? "?").join(", ")}]; inputs must be [batch, 1], as the edge feeds them`,
      );
    values.set(info.name, { shape: [BATCH, ONE], constant: undefined });
  }

  const order = dependencyOrder(graph, values);
  let elementsPerRecord = 0;
  // Matrix-product work, split into what each record adds and what a run costs whatever its size.
  const work = { perRecord: 0, perRun: 0 };
  for (const index of order) {
    const node = graph.nodes[index]!;
    const label = nodeLabel(node, index);
    const rule = ALLOWED_OPERATORS[domainOf(node.domain)]![node.opType]!;
    const inputs = node.inputs.map((name) => (name === "" ? undefined : values.get(name)!));
    const given = inputs.filter((v) => v !== undefined).length;
    if (given < rule.arity[0] || inputs.length > rule.arity[1])
      throw refuse(`${label} has ${inputs.length} inputs; it takes ${rule.arity[0]}–${rule.arity[1]}`);
    if (node.outputs.length > rule.outputs)
      throw refuse(`${label} has ${node.outputs.length} outputs; it makes at most ${rule.outputs}`);
    const call = { inputs, attribute: (name: string) => node.attributes.find((a) => a.name === name) };
    let shapes: Shape[];
    let multiplyAdds: Dim | undefined;
    try {
      shapes = rule.shapes(call);
      multiplyAdds = rule.multiplyAdds?.(call);
    } catch (err) {
      if (err instanceof ShapeError) throw refuse(`${label}: ${err.message}`);
      throw err;
    }
    node.outputs.forEach((name, k) => {
      if (name === "") return;
      const shape = shapes[k]!;
      checkComputed(shape, `output '${name}' of ${label}`, bounds);
      const size = product(shape);
      if (size.power === 1) elementsPerRecord += size.size;
      values.set(name, { shape, constant: undefined });
    });
    if (multiplyAdds) {
      if (multiplyAdds.power === 0) work.perRun += multiplyAdds.size;
      else work.perRecord += multiplyAdds.size;
      // An operand that grows with the batch on both sides of a product was refused above as an output.
      const limit = bounds.maxMultiplyAddsPerRecord;
      if (multiplyAdds.power > 1 || work.perRecord > limit || work.perRun > limit)
        throw refuse(`matrix products cost more than ${limit} multiply-adds per record (at ${label})`);
    }
  }
  return { elementsPerRecord, multiplyAddsPerRecord: work.perRecord };
}

function checkComputed(shape: Shape, where: string, bounds: ModelBounds): void {
  if (shape.length > bounds.maxRank)
    throw refuse(`${where} has rank ${shape.length}; at most ${bounds.maxRank} is allowed`);
  const size = product(shape);
  if (size.power > 1)
    throw refuse(`${where} is ${formatShape(shape)}: it grows faster than the number of records`);
  if (size.power === 1 && size.size > bounds.maxElementsPerRecord)
    throw refuse(
      `${where} is ${formatShape(shape)}: ${size.size} values per record; at most ${bounds.maxElementsPerRecord} are allowed`,
    );
  if (size.power === 0 && size.size > bounds.maxTensorElements)
    throw refuse(
      `${where} is ${formatShape(shape)}: ${size.size} values; at most ${bounds.maxTensorElements} are allowed`,
    );
}

/**
 * Node indices in an order where every input is made before it is used (Kahn's algorithm), so a graph
 * listed out of order is still followed; an input nothing makes, a value made twice, or a cycle is refused.
 */
function dependencyOrder(graph: DecodedGraph, known: ReadonlyMap<string, OperatorInput>): number[] {
  const producer = new Map<string, number>();
  graph.nodes.forEach((node, index) => {
    for (const name of node.outputs) {
      if (name === "") continue;
      if (known.has(name) || producer.has(name))
        throw refuse(`value '${name}' is made twice (by ${nodeLabel(node, index)} and before)`);
      producer.set(name, index);
    }
  });
  const waiting = graph.nodes.map(() => 0);
  const consumers = new Map<number, number[]>();
  graph.nodes.forEach((node, index) => {
    for (const name of node.inputs) {
      if (name === "" || known.has(name)) continue;
      const from = producer.get(name);
      if (from === undefined)
        throw refuse(
          `input '${name}' of ${nodeLabel(node, index)} is not a graph input, initializer or node output`,
        );
      waiting[index]!++;
      const list = consumers.get(from);
      if (list) list.push(index);
      else consumers.set(from, [index]);
    }
  });
  const ready = waiting.flatMap((count, index) => (count === 0 ? [index] : []));
  const order: number[] = [];
  while (ready.length > 0) {
    const index = ready.pop()!;
    order.push(index);
    for (const next of consumers.get(index) ?? []) if (--waiting[next]! === 0) ready.push(next);
  }
  if (order.length < graph.nodes.length) {
    const stuck = waiting.findIndex((count) => count > 0);
    throw refuse(`${nodeLabel(graph.nodes[stuck]!, stuck)} is part of a cycle`);
  }
  return order;
}
