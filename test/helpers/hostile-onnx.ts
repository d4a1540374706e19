import { ProtoReader } from "#shared/onnx/protobuf-reader.ts";
import { ProtoWriter } from "#shared/onnx/protobuf-writer.ts";
import {
  DataType,
  encodeModel,
  type ModelDef,
  type Node,
  type Tensor,
} from "../../trainer/src/ml/onnx/model.ts";

/**
 * Hostile ONNX models for the publish safety check, built with the trainer's own encoder. Each starts
 * from one small graph the check accepts (`x` float [N,1] → Relu → `y`) and changes one thing; what the
 * encoder cannot express (subgraphs, external data, functions) is appended as raw protobuf fields, which
 * a protobuf parser merges into the message exactly as if the encoder had written them.
 */

const { FLOAT, INT64 } = DataType;

export function plainModel(edit: (m: ModelDef) => void = () => {}): ModelDef {
  const model: ModelDef = {
    irVersion: 8,
    opsetImports: [
      { domain: "", version: 17 },
      { domain: "ai.onnx.ml", version: 3 },
    ],
    producerName: "hostile-test",
    producerVersion: "1",
    graph: {
      name: "plain",
      nodes: [{ opType: "Relu", name: "relu", inputs: ["x"], outputs: ["y"] }],
      initializers: [],
      inputs: [{ name: "x", elemType: FLOAT, shape: ["N", 1] }],
      outputs: [{ name: "y", elemType: FLOAT, shape: ["N", 1] }],
      valueInfo: [],
    },
  };
  edit(model);
  return model;
}

export const plainBytes = (edit?: (m: ModelDef) => void): Uint8Array => encodeModel(plainModel(edit));

/** Re-writes a message's top-level fields, letting `edit` replace one field's payload or add fields. */
function rewrite(
  bytes: Uint8Array,
  edit: { field?: number; payload?: (old: Uint8Array) => Uint8Array; append?: (w: ProtoWriter) => void },
): Uint8Array {
  const r = new ProtoReader(bytes);
  const w = new ProtoWriter();
  while (!r.done()) {
    const { field, wireType } = r.tag();
    if (wireType === 0) w.varintField(field, r.varint());
    else if (wireType === 2) {
      const payload = r.bytes();
      w.bytesField(field, field === edit.field && edit.payload ? edit.payload(payload) : payload);
    } else throw new Error(`unexpected wire type ${wireType} in a test model`);
  }
  edit.append?.(w);
  return w.finish();
}

/** Appends raw fields to the model's GraphProto: nodes (1), initializers (5), value_info (13)… */
export function withGraphFields(bytes: Uint8Array, append: (graph: ProtoWriter) => void): Uint8Array {
  return rewrite(bytes, {
    field: 7,
    payload: (graph) => {
      const extra = new ProtoWriter();
      append(extra);
      const tail = extra.finish();
      const joined = new Uint8Array(graph.length + tail.length);
      joined.set(graph);
      joined.set(tail, graph.length);
      return joined;
    },
  });
}

/** Appends raw fields to the ModelProto itself: functions (25), training_info (20)… */
export const withModelFields = (bytes: Uint8Array, append: (model: ProtoWriter) => void): Uint8Array =>
  rewrite(bytes, { append });

/** A custom-domain operator, its domain imported as an exporter of custom ops would. */
export const customOperatorModel = (): Uint8Array =>
  plainBytes((m) => {
    m.opsetImports.push({ domain: "com.evil", version: 1 });
    m.graph.nodes = [{ opType: "Backdoor", domain: "com.evil", name: "evil", inputs: ["x"], outputs: ["y"] }];
  });

/** A Loop node whose body is a subgraph (AttributeProto.g, type GRAPH). */
export const loopModel = (): Uint8Array =>
  withGraphFields(
    plainBytes((m) => {
      m.graph.nodes = [];
      m.graph.outputs = [{ name: "looped", elemType: FLOAT, shape: ["N", 1] }];
      m.graph.initializers = [
        { name: "trips", dataType: INT64, dims: [], values: [1_000_000_000] },
      ] as Tensor[];
    }),
    (g) =>
      g.messageField(1, (node) =>
        node
          .stringField(1, "trips")
          .stringField(1, "")
          .stringField(1, "x")
          .stringField(2, "looped")
          .stringField(3, "spin")
          .stringField(4, "Loop")
          .messageField(5, (attribute) =>
            attribute
              .stringField(1, "body")
              .messageField(6, (body) => body.stringField(2, "spin_body"))
              .varintField(20, 5),
          ),
      ),
  );

/** An initializer declaring a dimension of 2^40 while holding one value. */
export const hugeDimensionModel = (): Uint8Array =>
  plainBytes((m) => {
    m.graph.initializers = [{ name: "huge", dataType: FLOAT, dims: [2 ** 40], values: [1] }];
    m.graph.nodes = [{ opType: "Add", name: "add", inputs: ["x", "huge"], outputs: ["y"] }];
  });

/** `count` Relu nodes in a chain. */
export const manyNodesModel = (count: number): Uint8Array =>
  plainBytes((m) => {
    m.graph.nodes = Array.from(
      { length: count },
      (_, k): Node => ({
        opType: "Relu",
        name: `relu_${k}`,
        inputs: [k === 0 ? "x" : `h${k - 1}`],
        outputs: [k === count - 1 ? "y" : `h${k}`],
      }),
    );
  });

/** An initializer whose contents are in a file beside the model (TensorProto.external_data). */
export const externalDataModel = (): Uint8Array =>
  withGraphFields(
    plainBytes((m) => {
      m.graph.nodes = [{ opType: "Add", name: "add", inputs: ["x", "weights"], outputs: ["y"] }];
    }),
    (g) =>
      g.messageField(5, (t) =>
        t
          .packedVarints(1, [1])
          .varintField(2, FLOAT)
          .stringField(8, "weights")
          .messageField(13, (e) => e.stringField(1, "location").stringField(2, "../../../etc/passwd"))
          .varintField(14, 1),
      ),
  );

/** Gemm(x, x, transB=1): [N,1] × [1,N] = [N,N], quadratic in the number of records. */
export const quadraticModel = (): Uint8Array =>
  plainBytes((m) => {
    m.graph.nodes = [
      {
        opType: "Gemm",
        name: "outer",
        inputs: ["x", "x"],
        outputs: ["y"],
        attributes: [{ name: "transB", type: "int", value: 1 }],
      },
    ];
  });

/** A model-local function (ModelProto.functions). */
export const functionModel = (): Uint8Array =>
  withModelFields(plainBytes(), (w) =>
    w.messageField(25, (f) => f.stringField(1, "Relu").stringField(10, "com.evil")),
  );
