import { ProtoWriter } from "#shared/onnx/protobuf-writer.ts";
import { DataType, type ValueInfo, writeValueInfo } from "#shared/onnx/value-info.ts";

export { DataType, type DataTypeCode, type ValueInfo, writeValueInfo } from "#shared/onnx/value-info.ts";

/**
 * The subset of onnx.proto the trainer emits, as plain data, plus its encoder.
 * Field numbers follow onnx.proto (ModelProto, GraphProto, NodeProto, AttributeProto, TensorProto, ...).
 */

/** AttributeProto.AttributeType values; the `type` field must be set (IR ≥ 2). */
const AttributeType = { FLOAT: 1, INT: 2, STRING: 3, TENSOR: 4, FLOATS: 6, INTS: 7, STRINGS: 8 } as const;

export type Tensor =
  | { name: string; dataType: typeof DataType.FLOAT; dims: number[]; values: ArrayLike<number> }
  | { name: string; dataType: typeof DataType.INT64; dims: number[]; values: ArrayLike<number> }
  | { name: string; dataType: typeof DataType.STRING; dims: number[]; values: string[] };

export type Attribute =
  | { name: string; type: "float"; value: number }
  | { name: string; type: "int"; value: number }
  | { name: string; type: "string"; value: string }
  | { name: string; type: "tensor"; value: Tensor }
  | { name: string; type: "floats"; value: number[] }
  | { name: string; type: "ints"; value: number[] }
  | { name: string; type: "strings"; value: string[] };

export interface Node {
  opType: string;
  domain?: string;
  name?: string;
  inputs: string[];
  outputs: string[];
  attributes?: Attribute[];
}

export interface Graph {
  name: string;
  nodes: Node[];
  initializers: Tensor[];
  inputs: ValueInfo[];
  outputs: ValueInfo[];
  valueInfo: ValueInfo[];
}

export interface OpsetImport {
  domain: string;
  version: number;
}

export interface ModelDef {
  irVersion: number;
  opsetImports: OpsetImport[];
  producerName: string;
  producerVersion: string;
  docString?: string;
  metadata?: Record<string, string>;
  graph: Graph;
}

export function encodeModel(model: ModelDef): Uint8Array {
  const w = new ProtoWriter();
  w.varintField(1, model.irVersion);
  w.stringField(2, model.producerName);
  w.stringField(3, model.producerVersion);
  if (model.docString) w.stringField(6, model.docString);
  w.messageField(7, (g) => writeGraph(g, model.graph));
  for (const opset of model.opsetImports) {
    w.messageField(8, (o) => {
      o.stringField(1, opset.domain);
      o.varintField(2, opset.version);
    });
  }
  for (const [key, value] of Object.entries(model.metadata ?? {})) {
    w.messageField(14, (e) => e.stringField(1, key).stringField(2, value));
  }
  return w.finish();
}

function writeGraph(w: ProtoWriter, graph: Graph): void {
  for (const node of graph.nodes) w.messageField(1, (n) => writeNode(n, node));
  w.stringField(2, graph.name);
  for (const tensor of graph.initializers) w.messageField(5, (t) => writeTensor(t, tensor));
  for (const input of graph.inputs) w.messageField(11, (v) => writeValueInfo(v, input));
  for (const output of graph.outputs) w.messageField(12, (v) => writeValueInfo(v, output));
  for (const info of graph.valueInfo) w.messageField(13, (v) => writeValueInfo(v, info));
}

function writeNode(w: ProtoWriter, node: Node): void {
  for (const input of node.inputs) w.stringField(1, input);
  for (const output of node.outputs) w.stringField(2, output);
  if (node.name) w.stringField(3, node.name);
  w.stringField(4, node.opType);
  for (const attribute of node.attributes ?? []) w.messageField(5, (a) => writeAttribute(a, attribute));
  if (node.domain) w.stringField(7, node.domain);
}

function writeAttribute(w: ProtoWriter, attribute: Attribute): void {
  w.stringField(1, attribute.name);
  switch (attribute.type) {
    case "float":
      w.floatField(2, attribute.value);
      w.varintField(20, AttributeType.FLOAT);
      return;
    case "int":
      w.varintField(3, attribute.value);
      w.varintField(20, AttributeType.INT);
      return;
    case "string":
      w.stringField(4, attribute.value);
      w.varintField(20, AttributeType.STRING);
      return;
    case "tensor":
      w.messageField(5, (t) => writeTensor(t, attribute.value));
      w.varintField(20, AttributeType.TENSOR);
      return;
    case "floats":
      w.packedFloats(7, attribute.value);
      w.varintField(20, AttributeType.FLOATS);
      return;
    case "ints":
      w.packedVarints(8, attribute.value);
      w.varintField(20, AttributeType.INTS);
      return;
    case "strings":
      for (const s of attribute.value) w.stringField(9, s);
      w.varintField(20, AttributeType.STRINGS);
      return;
  }
}

function writeTensor(w: ProtoWriter, tensor: Tensor): void {
  w.packedVarints(1, tensor.dims);
  w.varintField(2, tensor.dataType);
  switch (tensor.dataType) {
    case DataType.FLOAT:
      w.packedFloats(4, tensor.values);
      break;
    case DataType.INT64:
      w.packedVarints(7, tensor.values);
      break;
    case DataType.STRING:
      for (const s of tensor.values) w.stringField(6, s);
      break;
  }
  w.stringField(8, tensor.name);
}
