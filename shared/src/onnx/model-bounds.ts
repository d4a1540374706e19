/**
 * Every limit a published ONNX graph is held to, in one place. Published graphs run in edge isolates that
 * all tenants share (128 MB of memory each, one thread), so each limit bounds what one tenant's upload can
 * make such an isolate allocate or compute, with ample headroom over the largest model `churn train`
 * makes. "Largest real model" below is a wide table at the trainer's search limits: 500 features (the
 * manifest's maximum) whose categorical ones average 30 categories (15,000 encoded columns), an ensemble
 * of three members, GBDTs of up to 2,000 trees of depth 6, random forests of 200 trees of depth 12, MLPs
 * of 32 hidden units. Telco models measure 35 to 50 nodes, under 2,000 initializer values and up to about
 * 10,000 tree nodes (test/trainer/model-safety.test.ts checks every family against these bounds).
 *
 * Raising a bound is a security decision: say in the change which model needed it.
 */
export const MODEL_BOUNDS = {
  /**
   * ModelProto.ir_version. 7 is the first IR that carries opset 13; 10 (onnx 1.16) is the newest whose
   * fields the decoder knows. The trainer writes 8; skl2onnx writes 7 to 10 depending on its target opset.
   */
  irVersion: { min: 7, max: 10 },
  /**
   * opset_import versions per domain; no other domain (com.microsoft contrib operators, custom domains)
   * may be imported. The operator shape rules are written for opsets 13 (ReduceSum takes its axes as an
   * input) to 21; the trainer writes 17 and 3. ai.onnx.ml 1 to 5 covers every version skl2onnx and
   * onnxmltools write; the allowed ML operators are the same in all of them.
   */
  opsets: {
    "": { min: 13, max: 21 },
    "ai.onnx.ml": { min: 1, max: 5 },
  } as Readonly<Record<string, { readonly min: number; readonly max: number }>>,
  /**
   * opset_import entries: one per domain, so two for any model that can pass; a few more are read so that
   * a foreign one is refused by name.
   */
  maxOpsetImports: 16,
  /**
   * Nodes in the graph. The trainer's graph is about 2 per categorical feature (OneHotEncoder, Flatten)
   * plus about 12 per ensemble member and 8 for calibration: about 1,100 at 500 features. Session start-up
   * and graph optimisation in ORT grow with it.
   */
  maxNodes: 4096,
  /**
   * Inputs and outputs of one node together. The most is the Concat of a member's encoded parts: one per
   * numeric feature block and categorical feature, at most 501.
   */
  maxNodeValues: 1024,
  /** Attributes of one node: TreeEnsembleRegressor has the most, 16. */
  maxNodeAttributes: 64,
  /** Graph inputs: one per feature, and the manifest allows at most 500 features. */
  maxGraphInputs: 500,
  /** Graph outputs: the trainer writes 3 (probability, margin, contributions), skl2onnx 2. */
  maxGraphOutputs: 16,
  /**
   * Initializers. The trainer writes at most about 14 per linear or MLP member and 5 for calibration:
   * about 60 for the largest ensemble.
   */
  maxInitializers: 1024,
  /** value_info entries (declared intermediate shapes): the trainer writes one per one-hot block. */
  maxValueInfos: 4096,
  /**
   * Rank of any declared tensor (initializers, inputs, outputs, value_info) and of any computed one. The
   * trainer's highest is 3 (OneHotEncoder's [N, 1, categories]).
   */
  maxRank: 4,
  /**
   * Any one dimension an initializer or value_info declares. The widest real dimension is the encoded
   * width of a linear or MLP member, 15,000; even 500 features of 300 categories (the trainer's cap per
   * feature) are 150,000.
   */
  maxDimension: 1_000_000,
  /**
   * Values in one tensor: an initializer, an attribute tensor, or a computed tensor that does not grow
   * with the batch. The largest real one is a linear member's weights [width, features]: 15,000 × 500 =
   * 7.5 M. The default 24 MiB upload limit holds at most 6.3 M float32 values, so 8 M (32 MiB as float32)
   * refuses nothing an upload can carry, and still bounds a tensor computed from small ones.
   */
  maxTensorElements: 8 * 1024 * 1024,
  /** Values in all initializers together: the same reasoning, for the whole graph. */
  maxInitializerElements: 8 * 1024 * 1024,
  /**
   * Values in all node attributes together (lists and attribute tensors): a tree ensemble keeps its trees
   * there, 12 values per node. The largest real one is about 2,000 × 127 + 200 × 8,191 ≈ 1.9 M nodes,
   * 23 M values, more than the 24 MiB upload limit holds.
   */
  maxAttributeValues: 32 * 1024 * 1024,
  /** Tree nodes in all tree ensembles: the same 1.9 M, with headroom. */
  maxTreeNodes: 4 * 1024 * 1024,
  /**
   * Tree steps one record costs: the depths of all trees summed (each record walks one root-to-leaf path
   * per tree). The largest real ensemble, three GBDTs of 2,000 trees of depth 6, walks 36,000.
   */
  maxTreeStepsPerRecord: 262_144,
  /**
   * Values one record adds to any one computed tensor. The widest real tensor is a linear or MLP member's
   * encoded matrix, one column per numeric feature and category: about 50 for Telco, 15,000 for the
   * largest real model. What a whole request may cost is the edge's budget, not this.
   */
  maxElementsPerRecord: 65_536,
  /**
   * Multiply-adds one record costs in all MatMul and Gemm nodes together. The largest real one is a linear
   * member's MatMul, encoded width × features: 15,000 × 500 = 7.5 M (Telco: under 1,000); an MLP's first
   * layer is width × 32.
   */
  maxMultiplyAddsPerRecord: 32 * 1024 * 1024,
  /**
   * The edge's budget for one predict request, in operations (`operationsPerRecord` in
   * inference-budget.ts): a model may score as many records per request as fit, never more than the API's
   * 1,000. 256 M is a few hundred milliseconds of one isolate's single thread at worst, so one request
   * cannot hold a shared isolate for long. Telco models cost 2,000 to 30,000 operations a record, so they
   * always get all 1,000; a 2,000-tree GBDT about 190,000 (1,000 records); a linear model 15,000 columns
   * wide over 500 features about 7.5 M (35 records a request).
   */
  requestOperations: 256 * 1024 * 1024,
  /**
   * The same request's budget in computed values (all intermediate tensors, summed, an upper bound on what
   * is live at once): 8 M float32 are 32 MiB, a quarter of an isolate beside the model and ORT itself.
   * Telco models compute 150 to 400 values a record, so 1,000 records take under 0.4 M.
   */
  requestElements: 8 * 1024 * 1024,
};

/** The bounds' shape: tests pass tighter ones to reach a limit with a small graph. */
export type ModelBounds = Readonly<typeof MODEL_BOUNDS>;
