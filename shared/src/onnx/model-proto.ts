import { countPacked, ProtoError, ProtoReader, readPackedInt64s, WIRE } from "./protobuf-reader.ts";

/**
 * A decoder for the parts of onnx.proto (ModelProto and what it holds) that decide what a graph runs and
 * how much memory it takes. It records facts, refusing nothing but malformed bytes: `model-safety.ts`
 * judges them. Bulk data (tensor contents, long attribute lists) is counted, not copied, so decoding a
 * model costs little more than reading it once. Field numbers follow onnx.proto.
 */

/** AttributeProto.AttributeType. */
export const AttributeType = {
  UNDEFINED: 0,
  FLOAT: 1,
  INT: 2,
  STRING: 3,
  TENSOR: 4,
  GRAPH: 5,
  FLOATS: 6,
  INTS: 7,
  STRINGS: 8,
  TENSORS: 9,
  GRAPHS: 10,
  SPARSE_TENSOR: 11,
  SPARSE_TENSORS: 12,
  TYPE_PROTO: 13,
  TYPE_PROTOS: 14,
} as const;

/** TensorProto.DataType codes with their size in bytes in raw_data (0: strings, which have no raw form). */
export const TENSOR_ELEMENT_BYTES: Readonly<Record<number, number>> = {
  1: 4, // FLOAT
  2: 1, // UINT8
  3: 1, // INT8
  4: 2, // UINT16
  5: 2, // INT16
  6: 4, // INT32
  7: 8, // INT64
  8: 0, // STRING
  9: 1, // BOOL
  10: 2, // FLOAT16
  11: 8, // DOUBLE
  12: 4, // UINT32
  13: 8, // UINT64
  16: 2, // BFLOAT16
};

export interface DecodedModel {
  irVersion: number | undefined;
  opsetImports: { domain: string; version: number }[];
  graph: DecodedGraph | undefined;
  /** Occurrences of ModelProto.graph: protobuf would merge several into one, which nothing honest writes. */
  graphFields: number;
  /** Model-local functions (FunctionProto): operators defined by the upload itself. */
  functions: number;
  /** TrainingInfoProto entries: further graphs (initialization, algorithm) inside the model. */
  trainingInfo: number;
  /** Fields this decoder does not know, as "Message.field N", in the messages that decide execution. */
  unknownFields: string[];
}

export interface DecodedGraph {
  name: string;
  nodes: DecodedNode[];
  initializers: DecodedTensor[];
  sparseInitializers: number;
  inputs: DecodedValueInfo[];
  outputs: DecodedValueInfo[];
  valueInfo: DecodedValueInfo[];
}

export interface DecodedNode {
  name: string;
  opType: string;
  domain: string;
  inputs: string[];
  outputs: string[];
  attributes: DecodedAttribute[];
  /** NodeProto.overload: picks a function overload, meaningful only with model-local functions. */
  overload: string;
}

export interface DecodedAttribute {
  name: string;
  type: number;
  f: number | undefined;
  i: number | undefined;
  s: string | undefined;
  /** Values in `floats`, `ints` and `strings` (each list counted, not kept). */
  floats: number;
  ints: number;
  strings: number;
  /** Tensors in `t` and `tensors`. */
  tensors: DecodedTensor[];
  /** Graphs in `g` and `graphs`: control-flow bodies. */
  graphs: number;
  /** Values in `sparse_tensor`, `sparse_tensors`, `tp` and `type_protos`. */
  otherValues: number;
  /** Set only inside function bodies: a reference to the caller's attribute. */
  refAttrName: string;
  /** The `ints` values, decoded on demand: axis lists are short, but a tree ensemble's are not. */
  readInts(): number[];
  /** The `strings` values, decoded on demand. */
  readStrings(): string[];
}

export interface DecodedTensor {
  name: string;
  dataType: number;
  dims: number[];
  /** Values present in the typed fields (float_data, int64_data, ...), summed. */
  typedValues: number;
  /** Bytes of raw_data, or undefined without it. */
  rawBytes: number | undefined;
  /** data_location = EXTERNAL or any external_data entry: the contents live in a file beside the model. */
  external: boolean;
  /** TensorProto.segment: one chunk of a tensor split across several protos. */
  segmented: boolean;
  /** The values of a small INT64 tensor (at most 64), for constant inputs such as ReduceSum's axes. */
  int64Values: number[] | undefined;
}

export type DecodedDim = number | string | undefined;

export interface DecodedValueInfo {
  name: string;
  /** Which TypeProto case is set; "none" when the value has no type. */
  kind: "tensor" | "sparse_tensor" | "sequence" | "map" | "optional" | "opaque" | "none";
  elemType: number;
  /** Undefined when the tensor type has no shape (rank unknown). */
  shape: DecodedDim[] | undefined;
}

/** Thrown for bytes that are not a readable ModelProto. */
export class ModelDecodeError extends Error {
  override name = "ModelDecodeError";
}

/**
 * Most entries of each kind the decoder keeps before it stops: a few bytes can declare a node, an
 * attribute or a dimension, so without caps a small upload could make the decoder itself hold millions of
 * objects. The checker passes its bounds; past one, decoding ends with a `ModelLimitError`.
 */
export interface DecodeLimits {
  readonly opsetImports: number;
  readonly nodes: number;
  readonly initializers: number;
  readonly graphInputs: number;
  readonly graphOutputs: number;
  readonly valueInfos: number;
  /** Inputs and outputs of one node, together. */
  readonly nodeValues: number;
  readonly nodeAttributes: number;
  /** Dimensions of one tensor; also the tensors of one attribute. */
  readonly rank: number;
}

const UNLIMITED: DecodeLimits = {
  opsetImports: Number.POSITIVE_INFINITY,
  nodes: Number.POSITIVE_INFINITY,
  initializers: Number.POSITIVE_INFINITY,
  graphInputs: Number.POSITIVE_INFINITY,
  graphOutputs: Number.POSITIVE_INFINITY,
  valueInfos: Number.POSITIVE_INFINITY,
  nodeValues: Number.POSITIVE_INFINITY,
  nodeAttributes: Number.POSITIVE_INFINITY,
  rank: Number.POSITIVE_INFINITY,
};

/** A decode limit passed: `what` names the entries, e.g. "nodes" or "attributes in node #3". */
export class ModelLimitError extends Error {
  override name = "ModelLimitError";
  readonly what: string;
  readonly limit: number;
  constructor(what: string, limit: number) {
    super(`more than ${limit} ${what}`);
    this.what = what;
    this.limit = limit;
  }
}

interface DecodeContext {
  readonly limits: DecodeLimits;
  /** The first few unknown fields: one is enough to refuse, and a hostile model may have millions. */
  readonly unknown: string[];
}

function noteUnknown(ctx: DecodeContext, message: string, field: number): void {
  if (ctx.unknown.length < 4) ctx.unknown.push(`${message} field ${field}`);
}

/** Adds to a list unless that passes its limit. */
function pushCapped<T>(list: T[], value: T, limit: number, what: string): void {
  if (list.length >= limit) throw new ModelLimitError(what, limit);
  list.push(value);
}

export function decodeModel(bytes: Uint8Array, limits: DecodeLimits = UNLIMITED): DecodedModel {
  try {
    return readModel(new ProtoReader(bytes), limits);
  } catch (err) {
    if (err instanceof ProtoError) throw new ModelDecodeError(err.message, { cause: err });
    throw err;
  }
}

/** Expects a wire type, so a field of the wrong shape is malformed rather than misread. */
function expectWire(actual: number, expected: number, where: string): void {
  if (actual !== expected) throw new ProtoError(`${where} has wire type ${actual}, expected ${expected}`);
}

function readModel(r: ProtoReader, limits: DecodeLimits): DecodedModel {
  const model: DecodedModel = {
    irVersion: undefined,
    opsetImports: [],
    graph: undefined,
    graphFields: 0,
    functions: 0,
    trainingInfo: 0,
    unknownFields: [],
  };
  const ctx: DecodeContext = { limits, unknown: model.unknownFields };
  while (!r.done()) {
    const { field, wireType } = r.tag();
    switch (field) {
      case 1:
        expectWire(wireType, WIRE.VARINT, "ModelProto.ir_version");
        model.irVersion = r.int64();
        break;
      case 7:
        expectWire(wireType, WIRE.LENGTH_DELIMITED, "ModelProto.graph");
        model.graphFields++;
        model.graph = readGraph(r.message(), ctx);
        break;
      case 8:
        expectWire(wireType, WIRE.LENGTH_DELIMITED, "ModelProto.opset_import");
        pushCapped(model.opsetImports, readOpset(r.message()), limits.opsetImports, "operator set imports");
        break;
      case 20:
        model.trainingInfo++;
        r.skip(wireType);
        break;
      case 25:
        model.functions++;
        r.skip(wireType);
        break;
      // producer_name, producer_version, domain, model_version, doc_string, metadata_props: descriptive.
      case 2:
      case 3:
      case 4:
      case 5:
      case 6:
      case 14:
        r.skip(wireType);
        break;
      default:
        noteUnknown(ctx, "ModelProto", field);
        r.skip(wireType);
    }
  }
  return model;
}

function readOpset(r: ProtoReader): { domain: string; version: number } {
  let domain = "";
  let version = 0;
  while (!r.done()) {
    const { field, wireType } = r.tag();
    if (field === 1 && wireType === WIRE.LENGTH_DELIMITED) domain = r.string();
    else if (field === 2 && wireType === WIRE.VARINT) version = r.int64();
    else r.skip(wireType);
  }
  return { domain, version };
}

function readGraph(r: ProtoReader, ctx: DecodeContext): DecodedGraph {
  const { limits } = ctx;
  const graph: DecodedGraph = {
    name: "",
    nodes: [],
    initializers: [],
    sparseInitializers: 0,
    inputs: [],
    outputs: [],
    valueInfo: [],
  };
  while (!r.done()) {
    const { field, wireType } = r.tag();
    if (field === 2 || field === 1 || field === 5 || (field >= 11 && field <= 13))
      expectWire(wireType, WIRE.LENGTH_DELIMITED, `GraphProto field ${field}`);
    switch (field) {
      case 1:
        pushCapped(graph.nodes, readNode(r.message(), ctx, graph.nodes.length), limits.nodes, "nodes");
        break;
      case 2:
        graph.name = r.string();
        break;
      case 5:
        pushCapped(graph.initializers, readTensor(r.message(), ctx), limits.initializers, "initializers");
        break;
      case 11:
        pushCapped(graph.inputs, readValueInfo(r.message(), ctx), limits.graphInputs, "graph inputs");
        break;
      case 12:
        pushCapped(graph.outputs, readValueInfo(r.message(), ctx), limits.graphOutputs, "graph outputs");
        break;
      case 13:
        pushCapped(graph.valueInfo, readValueInfo(r.message(), ctx), limits.valueInfos, "value_info entries");
        break;
      case 15:
        graph.sparseInitializers++;
        r.skip(wireType);
        break;
      // doc_string, quantization_annotation, metadata_props: descriptive.
      case 10:
      case 14:
      case 16:
        r.skip(wireType);
        break;
      default:
        noteUnknown(ctx, "GraphProto", field);
        r.skip(wireType);
    }
  }
  return graph;
}

function readNode(r: ProtoReader, ctx: DecodeContext, index: number): DecodedNode {
  const { limits } = ctx;
  const node: DecodedNode = {
    name: "",
    opType: "",
    domain: "",
    inputs: [],
    outputs: [],
    attributes: [],
    overload: "",
  };
  const values = () => {
    if (node.inputs.length + node.outputs.length >= limits.nodeValues)
      throw new ModelLimitError(`inputs and outputs in node #${index}`, limits.nodeValues);
  };
  while (!r.done()) {
    const { field, wireType } = r.tag();
    if (field === 1 || field === 2 || field === 3 || field === 4 || field === 5 || field === 7 || field === 8)
      expectWire(wireType, WIRE.LENGTH_DELIMITED, `NodeProto field ${field}`);
    switch (field) {
      case 1:
        values();
        node.inputs.push(r.string());
        break;
      case 2:
        values();
        node.outputs.push(r.string());
        break;
      case 3:
        node.name = r.string();
        break;
      case 4:
        node.opType = r.string();
        break;
      case 5:
        pushCapped(
          node.attributes,
          readAttribute(r.bytes(), ctx),
          limits.nodeAttributes,
          `attributes in node #${index}`,
        );
        break;
      case 7:
        node.domain = r.string();
        break;
      case 8:
        node.overload = r.string();
        break;
      // doc_string, metadata_props: descriptive.
      case 6:
      case 9:
        r.skip(wireType);
        break;
      default:
        noteUnknown(ctx, "NodeProto", field);
        r.skip(wireType);
    }
  }
  return node;
}

function readAttribute(payload: Uint8Array, ctx: DecodeContext): DecodedAttribute {
  const r = new ProtoReader(payload);
  const attribute: DecodedAttribute = {
    name: "",
    type: AttributeType.UNDEFINED,
    f: undefined,
    i: undefined,
    s: undefined,
    floats: 0,
    ints: 0,
    strings: 0,
    tensors: [],
    graphs: 0,
    otherValues: 0,
    refAttrName: "",
    // Lists are re-read from the attribute's bytes when asked for, rather than kept: tree lists are long.
    readInts: () =>
      readRepeated(
        payload,
        8,
        (p) => readPackedInt64s(p),
        (v) => v.int64(),
      ),
    readStrings: () => readRepeated(payload, 9, undefined, (v) => lenient.decode(v.bytes())),
  };
  while (!r.done()) {
    const { field, wireType } = r.tag();
    switch (field) {
      case 1:
        expectWire(wireType, WIRE.LENGTH_DELIMITED, "AttributeProto.name");
        attribute.name = r.string();
        break;
      case 2:
        expectWire(wireType, WIRE.FIXED32, "AttributeProto.f");
        attribute.f = r.float();
        break;
      case 3:
        expectWire(wireType, WIRE.VARINT, "AttributeProto.i");
        attribute.i = r.int64();
        break;
      case 4:
        expectWire(wireType, WIRE.LENGTH_DELIMITED, "AttributeProto.s");
        attribute.s = lenient.decode(r.bytes());
        break;
      case 5:
      case 10:
        expectWire(wireType, WIRE.LENGTH_DELIMITED, "AttributeProto tensor");
        pushCapped(
          attribute.tensors,
          readTensor(r.message(), ctx),
          ctx.limits.rank,
          "tensors in one attribute",
        );
        break;
      case 6:
      case 11:
        attribute.graphs++;
        r.skip(wireType);
        break;
      case 7:
        attribute.floats += repeatedCount(r, wireType, 4);
        break;
      case 8:
        attribute.ints += repeatedCount(r, wireType, 0);
        break;
      case 9:
        expectWire(wireType, WIRE.LENGTH_DELIMITED, "AttributeProto.strings");
        r.bytes();
        attribute.strings++;
        break;
      case 14:
      case 15:
      case 22:
      case 23:
        attribute.otherValues++;
        r.skip(wireType);
        break;
      case 20:
        expectWire(wireType, WIRE.VARINT, "AttributeProto.type");
        attribute.type = r.varint();
        break;
      case 21:
        expectWire(wireType, WIRE.LENGTH_DELIMITED, "AttributeProto.ref_attr_name");
        attribute.refAttrName = r.string();
        break;
      case 13:
        r.skip(wireType);
        break;
      default:
        noteUnknown(ctx, "AttributeProto", field);
        r.skip(wireType);
    }
  }
  return attribute;
}

/**
 * The values of one repeated field of a message, in order, whether packed (`packed` reads a run) or one
 * per tag (`single` reads a value). The message was read once already, so it is well formed.
 */
function readRepeated<T>(
  payload: Uint8Array,
  field: number,
  packed: ((run: Uint8Array) => T[]) | undefined,
  single: (r: ProtoReader) => T,
): T[] {
  const r = new ProtoReader(payload);
  const out: T[] = [];
  while (!r.done()) {
    const tag = r.tag();
    if (tag.field !== field) r.skip(tag.wireType);
    else if (packed && tag.wireType === WIRE.LENGTH_DELIMITED) for (const v of packed(r.bytes())) out.push(v);
    else out.push(single(r));
  }
  return out;
}

function readInt64Parts(parts: readonly (Uint8Array | number)[]): number[] {
  return parts.flatMap((part) => (typeof part === "number" ? [part] : readPackedInt64s(part)));
}

const SMALL_INT64_TENSOR = 64;

/** Attribute strings are bytes in onnx.proto; decoded leniently, as only ASCII values are compared. */
const lenient = new TextDecoder();

function readTensor(r: ProtoReader, ctx: DecodeContext): DecodedTensor {
  const rank = ctx.limits.rank;
  const tensor: DecodedTensor = {
    name: "",
    dataType: 0,
    dims: [],
    typedValues: 0,
    rawBytes: undefined,
    external: false,
    segmented: false,
    int64Values: undefined,
  };
  const int64Parts: (Uint8Array | number)[] = [];
  let raw: Uint8Array | undefined;
  while (!r.done()) {
    const { field, wireType } = r.tag();
    switch (field) {
      case 1:
        if (wireType === WIRE.LENGTH_DELIMITED) {
          const run = r.bytes();
          if (tensor.dims.length + countPacked(run, 0) > rank) throw new ModelLimitError("dimensions", rank);
          for (const d of readPackedInt64s(run)) tensor.dims.push(d);
        } else {
          expectWire(wireType, WIRE.VARINT, "TensorProto.dims");
          pushCapped(tensor.dims, r.int64(), rank, "dimensions");
        }
        break;
      case 2:
        expectWire(wireType, WIRE.VARINT, "TensorProto.data_type");
        tensor.dataType = r.varint();
        break;
      case 3:
        tensor.segmented = true;
        r.skip(wireType);
        break;
      case 4:
        tensor.typedValues += repeatedCount(r, wireType, 4);
        break;
      case 5:
      case 11:
        tensor.typedValues += repeatedCount(r, wireType, 0);
        break;
      case 7:
        if (wireType === WIRE.LENGTH_DELIMITED) {
          const run = r.bytes();
          tensor.typedValues += countPacked(run, 0);
          int64Parts.push(run);
        } else {
          expectWire(wireType, WIRE.VARINT, "TensorProto.int64_data");
          int64Parts.push(r.int64());
          tensor.typedValues++;
        }
        break;
      case 10:
        tensor.typedValues += repeatedCount(r, wireType, 8);
        break;
      case 6:
        expectWire(wireType, WIRE.LENGTH_DELIMITED, "TensorProto.string_data");
        r.bytes();
        tensor.typedValues++;
        break;
      case 8:
        expectWire(wireType, WIRE.LENGTH_DELIMITED, "TensorProto.name");
        tensor.name = r.string();
        break;
      case 9:
        expectWire(wireType, WIRE.LENGTH_DELIMITED, "TensorProto.raw_data");
        raw = r.bytes();
        tensor.rawBytes = raw.length;
        break;
      case 13:
        tensor.external = true;
        r.skip(wireType);
        break;
      case 14:
        expectWire(wireType, WIRE.VARINT, "TensorProto.data_location");
        if (r.varint() !== 0) tensor.external = true;
        break;
      // doc_string, metadata_props: descriptive.
      case 12:
      case 16:
        r.skip(wireType);
        break;
      default:
        noteUnknown(ctx, "TensorProto", field);
        r.skip(wireType);
    }
  }
  if (tensor.dataType === 7) tensor.int64Values = smallInt64s(int64Parts, tensor.typedValues, raw);
  return tensor;
}

function smallInt64s(
  parts: readonly (Uint8Array | number)[],
  typedValues: number,
  raw: Uint8Array | undefined,
): number[] | undefined {
  if (raw !== undefined) {
    if (raw.length % 8 !== 0 || raw.length / 8 > SMALL_INT64_TENSOR) return undefined;
    const view = new DataView(raw.buffer, raw.byteOffset, raw.length);
    return Array.from({ length: raw.length / 8 }, (_, k) => Number(view.getBigInt64(k * 8, true)));
  }
  return typedValues <= SMALL_INT64_TENSOR ? readInt64Parts(parts) : undefined;
}

/** Values of a repeated scalar field, packed or one per tag; width 0 is a varint. */
function repeatedCount(r: ProtoReader, wireType: number, width: 0 | 4 | 8): number {
  if (wireType === WIRE.LENGTH_DELIMITED) return countPacked(r.bytes(), width);
  const expected = width === 0 ? WIRE.VARINT : width === 4 ? WIRE.FIXED32 : WIRE.FIXED64;
  expectWire(wireType, expected, "repeated scalar");
  r.skip(wireType);
  return 1;
}

function readValueInfo(r: ProtoReader, ctx: DecodeContext): DecodedValueInfo {
  const info: DecodedValueInfo = { name: "", kind: "none", elemType: 0, shape: undefined };
  while (!r.done()) {
    const { field, wireType } = r.tag();
    if (field === 1 && wireType === WIRE.LENGTH_DELIMITED) info.name = r.string();
    else if (field === 2 && wireType === WIRE.LENGTH_DELIMITED) readType(r.message(), info, ctx.limits.rank);
    else r.skip(wireType);
  }
  return info;
}

/** TypeProto: only a tensor's element type and shape are read; other kinds are named, not descended into. */
function readType(r: ProtoReader, info: DecodedValueInfo, rank: number): void {
  const kinds: Record<number, DecodedValueInfo["kind"]> = {
    4: "sequence",
    5: "map",
    7: "opaque",
    8: "sparse_tensor",
    9: "optional",
  };
  while (!r.done()) {
    const { field, wireType } = r.tag();
    if (field === 1 && wireType === WIRE.LENGTH_DELIMITED) {
      info.kind = "tensor";
      readTensorType(r.message(), info, rank);
    } else {
      const kind = kinds[field];
      if (kind) info.kind = kind;
      r.skip(wireType);
    }
  }
}

function readTensorType(r: ProtoReader, info: DecodedValueInfo, rank: number): void {
  while (!r.done()) {
    const { field, wireType } = r.tag();
    if (field === 1 && wireType === WIRE.VARINT) info.elemType = r.varint();
    else if (field === 2 && wireType === WIRE.LENGTH_DELIMITED) info.shape = readShape(r.message(), rank);
    else r.skip(wireType);
  }
}

function readShape(r: ProtoReader, rank: number): DecodedDim[] {
  const dims: DecodedDim[] = [];
  while (!r.done()) {
    const { field, wireType } = r.tag();
    if (field === 1 && wireType === WIRE.LENGTH_DELIMITED) {
      const d = r.message();
      let dim: DecodedDim;
      while (!d.done()) {
        const inner = d.tag();
        if (inner.field === 1 && inner.wireType === WIRE.VARINT) dim = d.int64();
        else if (inner.field === 2 && inner.wireType === WIRE.LENGTH_DELIMITED) dim = d.string();
        else d.skip(inner.wireType);
      }
      pushCapped(dims, dim, rank, "dimensions");
    } else r.skip(wireType);
  }
  return dims;
}
