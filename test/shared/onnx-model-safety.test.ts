import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ChurnError } from "#shared/errors.ts";
import { MODEL_BOUNDS } from "#shared/onnx/model-bounds.ts";
import { decodeModel } from "#shared/onnx/model-proto.ts";
import { checkModelSafety } from "#shared/onnx/model-safety.ts";
import { type Attribute, DataType, encodeModel, type ModelDef } from "../../trainer/src/ml/onnx/model.ts";
import {
  customOperatorModel,
  externalDataModel,
  functionModel,
  hugeDimensionModel,
  loopModel,
  manyNodesModel,
  plainBytes,
  plainModel,
  quadraticModel,
  withGraphFields,
  withModelFields,
} from "../helpers/hostile-onnx.ts";

const { FLOAT, INT64, STRING } = DataType;

/** The refusal's message; fails the test when the model is accepted or refused with another error. */
function refusal(bytes: Uint8Array): string {
  try {
    checkModelSafety(bytes);
  } catch (err) {
    expect(err).toBeInstanceOf(ChurnError);
    expect((err as ChurnError).code).toBe("INVALID_MODEL");
    return (err as ChurnError).message;
  }
  throw new Error("the model was accepted");
}

/** A graph shaped like the trainer's: one-hot, concat, linear terms, trees, sigmoid. */
function churnLikeModel(edit: (m: ModelDef) => void = () => {}): Uint8Array {
  const model = plainModel((m) => {
    m.graph.inputs = [
      { name: "tenure", elemType: FLOAT, shape: ["N", 1] },
      { name: "Contract", elemType: STRING, shape: ["N", 1] },
    ];
    m.graph.initializers = [
      { name: "w", dataType: FLOAT, dims: [4, 2], values: [1, 0, 0, 1, 0, 1, 0, 1] },
      { name: "axes", dataType: INT64, dims: [1], values: [1] },
      { name: "idx", dataType: INT64, dims: [2], values: [0, 0] },
      { name: "cuts", dataType: FLOAT, dims: [2], values: [3, 12] },
    ];
    m.graph.nodes = [
      {
        opType: "OneHotEncoder",
        domain: "ai.onnx.ml",
        name: "onehot",
        inputs: ["Contract"],
        outputs: ["oh"],
        attributes: [
          { name: "cats_strings", type: "strings", value: ["a", "b", "c"] },
          { name: "zeros", type: "int", value: 1 },
        ],
      },
      { opType: "Flatten", name: "flat", inputs: ["oh"], outputs: ["ohf"], attributes: [] },
      {
        opType: "Concat",
        name: "concat",
        inputs: ["tenure", "ohf"],
        outputs: ["enc"],
        attributes: [{ name: "axis", type: "int", value: 1 }],
      },
      { opType: "MatMul", name: "mm", inputs: ["enc", "w"], outputs: ["contrib"] },
      { opType: "ReduceSum", name: "sum", inputs: ["contrib", "axes"], outputs: ["linear"] },
      {
        opType: "Gather",
        name: "gather",
        inputs: ["tenure", "idx"],
        outputs: ["g"],
        attributes: [{ name: "axis", type: "int", value: 1 }],
      },
      { opType: "Greater", name: "gt", inputs: ["g", "cuts"], outputs: ["above"] },
      {
        opType: "Cast",
        name: "cast",
        inputs: ["above"],
        outputs: ["step"],
        attributes: [{ name: "to", type: "int", value: 1 }],
      },
      {
        opType: "TreeEnsembleRegressor",
        domain: "ai.onnx.ml",
        name: "trees",
        inputs: ["enc"],
        outputs: ["tree"],
        attributes: [
          { name: "n_targets", type: "int", value: 1 },
          { name: "nodes_treeids", type: "ints", value: [0, 0, 0, 1] },
          { name: "nodes_nodeids", type: "ints", value: [0, 1, 2, 0] },
          { name: "nodes_featureids", type: "ints", value: [0, 0, 0, 0] },
          { name: "nodes_modes", type: "strings", value: ["BRANCH_LEQ", "LEAF", "LEAF", "LEAF"] },
          { name: "nodes_values", type: "floats", value: [0.5, 0, 0, 0] },
          { name: "nodes_truenodeids", type: "ints", value: [1, 0, 0, 0] },
          { name: "nodes_falsenodeids", type: "ints", value: [2, 0, 0, 0] },
          { name: "target_weights", type: "floats", value: [-1, 1, 0.5] },
        ],
      },
      { opType: "Add", name: "add", inputs: ["linear", "tree"], outputs: ["margin"] },
      { opType: "Sigmoid", name: "sigmoid", inputs: ["margin"], outputs: ["y"] },
    ];
    m.graph.valueInfo = [{ name: "oh", elemType: FLOAT, shape: ["N", 1, 3] }];
  });
  edit(model);
  return encodeModel(model);
}

describe("decodeModel", () => {
  it("reads back what the trainer's encoder wrote", () => {
    const decoded = decodeModel(churnLikeModel());
    expect(decoded.irVersion).toBe(8);
    expect(decoded.opsetImports).toEqual([
      { domain: "", version: 17 },
      { domain: "ai.onnx.ml", version: 3 },
    ]);
    const graph = decoded.graph!;
    expect(graph.nodes.map((n) => n.opType)).toContain("TreeEnsembleRegressor");
    expect(graph.initializers.find((t) => t.name === "w")).toMatchObject({
      dataType: FLOAT,
      dims: [4, 2],
      typedValues: 8,
    });
    expect(graph.initializers.find((t) => t.name === "axes")?.int64Values).toEqual([1]);
    const concat = graph.nodes.find((n) => n.opType === "Concat")!;
    expect(concat.attributes[0]).toMatchObject({ name: "axis", i: 1 });
    const trees = graph.nodes.find((n) => n.opType === "TreeEnsembleRegressor")!;
    const modes = trees.attributes.find((a) => a.name === "nodes_modes")!;
    expect(modes.readStrings()).toEqual(["BRANCH_LEQ", "LEAF", "LEAF", "LEAF"]);
    expect(trees.attributes.find((a) => a.name === "nodes_nodeids")!.readInts()).toEqual([0, 1, 2, 0]);
    expect(graph.inputs[0]).toEqual({ name: "tenure", kind: "tensor", elemType: FLOAT, shape: ["N", 1] });
    expect(graph.valueInfo[0]?.shape).toEqual(["N", 1, 3]);
  });

  it("reads negative int64 attributes (ten-byte varints)", () => {
    const bytes = plainBytes((m) => {
      m.graph.nodes = [
        {
          opType: "Flatten",
          name: "f",
          inputs: ["x"],
          outputs: ["y"],
          attributes: [{ name: "axis", type: "int", value: -1 }],
        },
      ];
    });
    expect(decodeModel(bytes).graph!.nodes[0]!.attributes[0]!.i).toBe(-1);
    expect(() => checkModelSafety(bytes)).not.toThrow();
  });
});

describe("checkModelSafety: accepts the graphs the trainer and scikit-learn exports make", () => {
  it("accepts a trainer-shaped graph and reports its footprint", () => {
    expect(checkModelSafety(churnLikeModel())).toEqual({
      nodes: 11,
      initializerElements: 13,
      // cats_strings 3 + the trees' eight lists 31 (single ints are not counted)
      attributeValues: 34,
      treeNodes: 4,
      // oh 3 + ohf 3 + enc 4 + contrib 2 + linear 1 + g 2 + above 2 + step 2 + tree 1 + margin 1 + y 1
      elementsPerRecord: 22,
      multiplyAddsPerRecord: 8,
      // tree 0 has depth 2, tree 1 is a lone leaf
      treeStepsPerRecord: 3,
    });
  });

  it("accepts a scikit-learn pipeline as skl2onnx writes it (LinearClassifier, Normalizer, ZipMap off)", () => {
    const bytes = plainBytes((m) => {
      m.irVersion = 10;
      m.opsetImports = [
        { domain: "", version: 21 },
        { domain: "ai.onnx.ml", version: 1 },
      ];
      m.graph.nodes = [
        {
          opType: "Scaler",
          domain: "ai.onnx.ml",
          name: "scaler",
          inputs: ["x"],
          outputs: ["scaled"],
          attributes: [
            { name: "offset", type: "floats", value: [1] },
            { name: "scale", type: "floats", value: [2] },
          ],
        },
        {
          opType: "LinearClassifier",
          domain: "ai.onnx.ml",
          name: "lr",
          inputs: ["scaled"],
          outputs: ["label", "raw"],
          attributes: [
            { name: "coefficients", type: "floats", value: [0.5, -0.5] },
            { name: "classlabels_ints", type: "ints", value: [0, 1] },
          ],
        },
        {
          opType: "Normalizer",
          domain: "ai.onnx.ml",
          name: "norm",
          inputs: ["raw"],
          outputs: ["probabilities"],
          attributes: [{ name: "norm", type: "string", value: "L1" }],
        },
      ];
      m.graph.outputs = [
        { name: "label", elemType: INT64, shape: ["N"] },
        { name: "probabilities", elemType: FLOAT, shape: ["N", 2] },
      ];
    });
    expect(checkModelSafety(bytes).elementsPerRecord).toBe(1 + 1 + 2 + 2);
  });
});

describe("checkModelSafety: refuses hostile graphs, naming the culprit", () => {
  it("refuses an operator in a custom domain, naming the node and operator", () => {
    expect(refusal(customOperatorModel())).toMatch(/node 'evil' \(com\.evil:Backdoor\).*not allowed/);
  });

  it("refuses default-domain operators that allocate from runtime values (Expand, ConstantOfShape)", () => {
    for (const op of ["Expand", "ConstantOfShape", "Range", "Tile", "Resize"]) {
      const bytes = plainBytes((m) => {
        m.graph.nodes = [{ opType: op, name: "grow", inputs: ["x"], outputs: ["y"] }];
      });
      expect(refusal(bytes)).toContain(`node 'grow' (${op}) uses an operator that is not allowed`);
    }
  });

  it("refuses a foreign operator-set import even when no node uses it", () => {
    const bytes = plainBytes((m) => m.opsetImports.push({ domain: "com.microsoft", version: 1 }));
    expect(refusal(bytes)).toContain("imports operator set 'com.microsoft'");
  });

  it("refuses a Loop with a subgraph body, naming the attribute and node", () => {
    expect(refusal(loopModel())).toMatch(/attribute 'body' of node 'spin' \(Loop\) is a subgraph/);
  });

  it("refuses a subgraph attribute even on an allowed operator", () => {
    const bytes = withGraphFields(
      plainBytes((m) => {
        m.graph.nodes = [];
      }),
      (g) =>
        g.messageField(1, (node) =>
          node
            .stringField(1, "x")
            .stringField(2, "y")
            .stringField(3, "sneaky")
            .stringField(4, "Relu")
            .messageField(5, (a) =>
              a.stringField(1, "then_branch").messageField(6, (body) => body.stringField(2, "b")),
            ),
        ),
    );
    expect(refusal(bytes)).toContain("attribute 'then_branch' of node 'sneaky' (Relu) is a subgraph");
  });

  it("refuses model-local functions and training graphs", () => {
    expect(refusal(functionModel())).toContain("model-local function");
    const training = withModelFields(plainBytes(), (w) =>
      w.messageField(20, (t) => t.messageField(1, (g) => g.stringField(2, "init"))),
    );
    expect(refusal(training)).toContain("training graphs");
  });

  it("refuses an initializer dimension past the bound, naming the initializer", () => {
    expect(refusal(hugeDimensionModel())).toMatch(
      new RegExp(`initializer 'huge' has a dimension of ${2 ** 40}; at most ${MODEL_BOUNDS.maxDimension}`),
    );
  });

  it("refuses an initializer whose dimensions multiply past the per-tensor bound", () => {
    const bytes = plainBytes((m) => {
      m.graph.initializers = [{ name: "wide", dataType: FLOAT, dims: [100_000, 100_000], values: [1] }];
    });
    expect(refusal(bytes)).toContain(`initializer 'wide' has 10000000000 values`);
  });

  it("refuses an initializer that declares more values than it holds", () => {
    const bytes = plainBytes((m) => {
      m.graph.initializers = [{ name: "short", dataType: FLOAT, dims: [1000], values: [1, 2] }];
    });
    expect(refusal(bytes)).toContain("initializer 'short' declares 1000 values ([1000]) but holds 2");
  });

  it("refuses initializers that together pass the total bound", () => {
    const bounds = { ...MODEL_BOUNDS, maxInitializerElements: 10 };
    const bytes = plainBytes((m) => {
      m.graph.initializers = [
        { name: "a", dataType: FLOAT, dims: [6], values: new Float32Array(6) },
        { name: "b", dataType: FLOAT, dims: [6], values: new Float32Array(6) },
      ];
    });
    expect(() => checkModelSafety(bytes, bounds)).toThrow(/more than 10 values \(at initializer 'b'\)/);
  });

  it("refuses a value_info dimension past the bound, naming the value", () => {
    const bytes = plainBytes((m) => {
      m.graph.valueInfo = [{ name: "hidden", elemType: FLOAT, shape: ["N", 5_000_000] }];
    });
    expect(refusal(bytes)).toContain("value 'hidden' declares a dimension of 5000000");
  });

  it("refuses more nodes than the bound", () => {
    expect(() => checkModelSafety(manyNodesModel(MODEL_BOUNDS.maxNodes))).not.toThrow();
    expect(refusal(manyNodesModel(MODEL_BOUNDS.maxNodes + 1))).toContain(
      `it has more than ${MODEL_BOUNDS.maxNodes} nodes; that is the limit`,
    );
  });

  it("refuses more graph inputs than a manifest can describe", () => {
    const bytes = plainBytes((m) => {
      m.graph.inputs = Array.from({ length: 501 }, (_, k) => ({
        name: k === 0 ? "x" : `f${k}`,
        elemType: FLOAT,
        shape: ["N", 1],
      }));
    });
    expect(refusal(bytes)).toContain("it has more than 500 graph inputs");
  });

  it("refuses external data, naming the initializer", () => {
    expect(refusal(externalDataModel())).toContain(
      "initializer 'weights' keeps its data in an external file",
    );
  });

  it("refuses a tensor that grows with the square of the batch, naming the node", () => {
    expect(refusal(quadraticModel())).toContain(
      "output 'y' of node 'outer' (Gemm) is [N, N]: it grows faster than the number of records",
    );
  });

  it("refuses broadcasting that multiplies small constants into a huge one", () => {
    const bytes = plainBytes((m) => {
      m.graph.initializers = [
        { name: "col", dataType: FLOAT, dims: [4096, 1], values: new Float32Array(4096) },
        { name: "row", dataType: FLOAT, dims: [1, 4096], values: new Float32Array(4096) },
      ];
      m.graph.nodes = [
        { opType: "Add", name: "outer", inputs: ["col", "row"], outputs: ["big"] },
        { opType: "Relu", name: "relu", inputs: ["x"], outputs: ["y"] },
      ];
    });
    expect(refusal(bytes)).toContain("output 'big' of node 'outer' (Add) is [4096, 4096]: 16777216 values");
  });

  it("refuses a per-record tensor wider than the bound", () => {
    const bytes = plainBytes((m) => {
      m.graph.initializers = [
        { name: "row", dataType: FLOAT, dims: [1, 70_000], values: new Float32Array(70_000) },
      ];
      m.graph.nodes = [{ opType: "Mul", name: "widen", inputs: ["x", "row"], outputs: ["y"] }];
    });
    expect(refusal(bytes)).toContain(
      "output 'y' of node 'widen' (Mul) is [N, 70000]: 70000 values per record",
    );
  });

  it("refuses matrix products past the multiply-add bound", () => {
    const bounds = { ...MODEL_BOUNDS, maxMultiplyAddsPerRecord: 100 };
    const bytes = plainBytes((m) => {
      m.graph.initializers = [{ name: "w", dataType: FLOAT, dims: [1, 200], values: new Float32Array(200) }];
      m.graph.nodes = [{ opType: "MatMul", name: "mm", inputs: ["x", "w"], outputs: ["y"] }];
    });
    expect(() => checkModelSafety(bytes, bounds)).toThrow(
      /more than 100 multiply-adds per record \(at node 'mm'/,
    );
  });

  it("refuses trees that are not trees: a cycle, a shared node, a missing child", () => {
    const withTree = (lists: { modes: string[]; trueIds: number[]; falseIds: number[] }) =>
      churnLikeModel((m) => {
        const trees = m.graph.nodes.find((n) => n.opType === "TreeEnsembleRegressor")!;
        const replaced: Attribute[] = [
          { name: "nodes_modes", type: "strings", value: lists.modes },
          { name: "nodes_truenodeids", type: "ints", value: lists.trueIds },
          { name: "nodes_falsenodeids", type: "ints", value: lists.falseIds },
        ];
        trees.attributes = trees.attributes!.map((a) => replaced.find((r) => r.name === a.name) ?? a);
      });
    const branches = ["BRANCH_LEQ", "LEAF", "BRANCH_LEQ", "LEAF"];
    // Node 2 sends records back to the root: a record could walk forever.
    expect(refusal(withTree({ modes: branches, trueIds: [1, 0, 0, 0], falseIds: [2, 0, 1, 0] }))).toMatch(
      /node 'trees' \(ai\.onnx\.ml:TreeEnsembleRegressor\): tree 0 has no root \(its nodes form a cycle\)/,
    );
    expect(refusal(withTree({ modes: branches, trueIds: [1, 0, 1, 0], falseIds: [2, 0, 1, 0] }))).toContain(
      "tree 0 reaches node 1 twice",
    );
    expect(
      refusal(
        withTree({
          modes: ["BRANCH_LEQ", "LEAF", "LEAF", "LEAF"],
          trueIds: [7, 0, 0, 0],
          falseIds: [2, 0, 0, 0],
        }),
      ),
    ).toContain("node 0 of tree 0 points to missing node 7");
    expect(
      refusal(
        withTree({
          modes: ["BRANCH_LEQ", "LEAF", "LEAF", "LEAF"],
          trueIds: [2, 0, 0, 0],
          falseIds: [2, 0, 0, 0],
        }),
      ),
    ).toContain("tree 0 has 2 roots");
  });

  it("refuses more tree steps per record than the bound", () => {
    const bounds = { ...MODEL_BOUNDS, maxTreeStepsPerRecord: 2 };
    expect(() => checkModelSafety(churnLikeModel(), bounds)).toThrow(/more than 2 steps per record/);
  });

  it("refuses IR versions and opsets outside the ranges", () => {
    const oldIr = plainBytes((m) => {
      m.irVersion = 3;
    });
    expect(refusal(oldIr)).toContain("IR version 3 is outside 7–10");
    expect(
      refusal(
        plainBytes((m) => {
          m.opsetImports = [{ domain: "", version: 11 }];
        }),
      ),
    ).toContain("opset 11 of 'ai.onnx' is outside 13–21");
    expect(
      refusal(
        plainBytes((m) => {
          m.opsetImports = [
            { domain: "", version: 17 },
            { domain: "ai.onnx", version: 18 },
          ];
        }),
      ),
    ).toContain("imports operator set 'ai.onnx' twice");
  });

  it("refuses a graph input the edge could not feed ([batch, 1] only)", () => {
    const bytes = plainBytes((m) => {
      m.graph.inputs = [{ name: "x", elemType: FLOAT, shape: ["N", 1000] }];
    });
    expect(refusal(bytes)).toContain("graph input 'x' is declared with shape [N, 1000]");
  });

  it("refuses non-tensor values (sequences, maps) and sparse initializers", () => {
    const sequence = withGraphFields(plainBytes(), (g) =>
      g.messageField(13, (v) =>
        v.stringField(1, "seq").messageField(2, (t) => t.messageField(4, (s) => s.varintField(1, 1))),
      ),
    );
    expect(refusal(sequence)).toContain("value 'seq' is a sequence; only tensors are allowed");
    const sparse = withGraphFields(plainBytes(), (g) => g.messageField(15, (s) => s.packedVarints(3, [4])));
    expect(refusal(sparse)).toContain("sparse initializers");
  });

  it("refuses fields of onnx.proto it does not know, and a second graph", () => {
    const unknown = withModelFields(plainBytes(), (w) => w.varintField(99, 1));
    expect(refusal(unknown)).toContain("it uses ModelProto field 99");
    const twoGraphs = withModelFields(plainBytes(), (w) =>
      w.messageField(7, (g) => g.stringField(2, "more")),
    );
    expect(refusal(twoGraphs)).toContain("more than one graph field");
  });

  it("refuses values made twice, inputs nothing makes, and cycles", () => {
    const twice = plainBytes((m) => {
      m.graph.nodes.push({ opType: "Relu", name: "again", inputs: ["x"], outputs: ["y"] });
    });
    expect(refusal(twice)).toContain("value 'y' is made twice");
    const dangling = plainBytes((m) => {
      m.graph.nodes = [{ opType: "Relu", name: "r", inputs: ["nowhere"], outputs: ["y"] }];
    });
    expect(refusal(dangling)).toContain("input 'nowhere' of node 'r' (Relu) is not a graph input");
    const cycle = plainBytes((m) => {
      m.graph.nodes = [
        { opType: "Add", name: "a", inputs: ["x", "b_out"], outputs: ["y"] },
        { opType: "Relu", name: "b", inputs: ["y"], outputs: ["b_out"] },
      ];
    });
    expect(refusal(cycle)).toContain("is part of a cycle");
  });

  it("refuses bytes that are not a ModelProto as not loading", () => {
    expect(refusal(new TextEncoder().encode("not a model at all"))).toMatch(/does not load/);
    const whole = plainBytes();
    expect(refusal(whole.subarray(0, whole.length - 3))).toMatch(/does not load.*past the end/);
    expect(refusal(new Uint8Array())).toContain("it has no graph");
  });

  it("answers any corruption of a valid model with acceptance or INVALID_MODEL, never another error", () => {
    const valid = churnLikeModel();
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(valid.length - 1), fc.integer({ min: 0, max: 255 })), {
          minLength: 1,
          maxLength: 8,
        }),
        fc.nat(valid.length),
        (edits, cut) => {
          const bytes = valid.slice(0, Math.max(cut, valid.length - 16));
          for (const [at, value] of edits) if (at < bytes.length) bytes[at] = value;
          try {
            checkModelSafety(bytes);
          } catch (err) {
            expect(err).toBeInstanceOf(ChurnError);
            expect((err as ChurnError).code).toBe("INVALID_MODEL");
          }
        },
      ),
      { numRuns: 2000 },
    );
  });

  it("stops decoding at a bound, so a small upload cannot make the decoder hold millions of objects", () => {
    // 100,000 empty nodes are 200 bytes of protobuf each pair; the decoder stops at the node bound.
    const empties = withGraphFields(plainBytes(), (g) => {
      for (let k = 0; k < 100_000; k++) g.bytesField(1, new Uint8Array());
    });
    expect(refusal(empties)).toContain(`it has more than ${MODEL_BOUNDS.maxNodes} nodes`);
    const wideNode = plainBytes((m) => {
      m.graph.nodes = [
        { opType: "Max", name: "wide", inputs: Array.from({ length: 2000 }, () => "x"), outputs: ["y"] },
      ];
    });
    expect(refusal(wideNode)).toContain(
      `more than ${MODEL_BOUNDS.maxNodeValues} inputs and outputs in node #0`,
    );
    const manyAttributes = plainBytes((m) => {
      m.graph.nodes[0]!.attributes = Array.from({ length: 100 }, (_, k) => ({
        name: `a${k}`,
        type: "int" as const,
        value: k,
      }));
    });
    expect(refusal(manyAttributes)).toContain(
      `more than ${MODEL_BOUNDS.maxNodeAttributes} attributes in node #0`,
    );
    const highRank = plainBytes((m) => {
      m.graph.initializers = [{ name: "r6", dataType: FLOAT, dims: [1, 1, 1, 1, 1, 1], values: [1] }];
    });
    expect(refusal(highRank)).toContain(`more than ${MODEL_BOUNDS.maxRank} dimensions`);
  });

  it("refuses an attribute given twice on one node", () => {
    const bytes = plainBytes((m) => {
      m.graph.nodes = [
        {
          opType: "Flatten",
          name: "f",
          inputs: ["x"],
          outputs: ["y"],
          attributes: [
            { name: "axis", type: "int", value: 1 },
            { name: "axis", type: "int", value: 0 },
          ],
        },
      ];
    });
    expect(refusal(bytes)).toContain("attribute 'axis' of node 'f' (Flatten) is given twice");
  });

  it("refuses a computed tensor of too high a rank, and shapes an operator cannot take", () => {
    const rank5 = plainBytes((m) => {
      m.graph.initializers = [{ name: "i4", dataType: INT64, dims: [1, 1, 1, 1], values: [0] }];
      m.graph.nodes = [
        { opType: "Gather", name: "g", inputs: ["x", "i4"], outputs: ["big"] },
        { opType: "Relu", name: "r", inputs: ["x"], outputs: ["y"] },
      ];
    });
    expect(refusal(rank5)).toContain("output 'big' of node 'g' (Gather) has rank 5");
    const mismatch = plainBytes((m) => {
      m.graph.initializers = [{ name: "w", dataType: FLOAT, dims: [3, 2], values: new Float32Array(6) }];
      m.graph.nodes = [{ opType: "MatMul", name: "mm", inputs: ["x", "w"], outputs: ["y"] }];
    });
    expect(refusal(mismatch)).toContain("node 'mm' (MatMul): cannot multiply [N, 1] by [3, 2]");
    const noAxis = plainBytes((m) => {
      m.graph.nodes = [{ opType: "Concat", name: "c", inputs: ["x", "x"], outputs: ["y"] }];
    });
    expect(refusal(noAxis)).toContain("node 'c' (Concat): attribute 'axis' is required");
    const computedAxes = plainBytes((m) => {
      m.graph.nodes = [{ opType: "ReduceSum", name: "s", inputs: ["x", "x"], outputs: ["y"] }];
    });
    expect(refusal(computedAxes)).toContain("its axes must be a small constant INT64 initializer");
    const arity = plainBytes((m) => {
      m.graph.nodes = [{ opType: "Add", name: "a", inputs: ["x"], outputs: ["y"] }];
    });
    expect(refusal(arity)).toContain("node 'a' (Add) has 1 inputs; it takes 2–2");
  });
});
