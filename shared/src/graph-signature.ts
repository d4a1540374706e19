import { ChurnError } from "./errors.ts";
import { type FeatureSpec, graphInputOf, type Manifest } from "./manifest.ts";

/** What onnxruntime reports about a loaded graph's inputs and outputs (structurally, from any ORT build). */
export interface GraphSignature {
  readonly inputMetadata: readonly ValueMetadata[];
  readonly outputMetadata: readonly ValueMetadata[];
  readonly outputNames: readonly string[];
}

type ValueMetadata =
  | { readonly name: string; readonly isTensor: false }
  | {
      readonly name: string;
      readonly isTensor: true;
      readonly type: string;
      readonly shape: readonly (number | string)[];
    };

const EXPECTED_INPUT_TYPE = { numeric: "float32", categorical: "string" } as const;

const invalid = (message: string) => new ChurnError("INVALID_MODEL", message);

/**
 * Checks a feature schema and output spec against a loaded graph: one input per feature with the right
 * type and no extra inputs, a float32 probability output (and its column in range), and any other named
 * outputs. Throws INVALID_MODEL naming the first mismatch. Used at publish and by `churn manifest`.
 */
export function checkGraphSignature(
  graph: GraphSignature,
  features: readonly FeatureSpec[],
  outputs: Manifest["outputs"],
): void {
  const inputs = new Map(graph.inputMetadata.map((m) => [m.name, m]));
  const graphInputs = [...inputs.keys()].join(", ");
  for (const feature of features) {
    const name = graphInputOf(feature);
    const input = inputs.get(name);
    if (!input)
      throw invalid(`Feature '${feature.name}' has no graph input '${name}' (graph inputs: ${graphInputs})`);
    const expected = EXPECTED_INPUT_TYPE[feature.type];
    if (input.isTensor && input.type !== expected) {
      throw invalid(
        `Graph input '${name}' is ${input.type}, but a ${feature.type} feature needs ${expected}`,
      );
    }
    inputs.delete(name);
  }
  if (inputs.size > 0) throw invalid(`Graph inputs without a feature: ${[...inputs.keys()].join(", ")}`);

  const { probability } = outputs;
  const output = graph.outputMetadata.find((m) => m.name === probability.name);
  if (!output) {
    throw invalid(
      `Probability output '${probability.name}' is not a graph output (outputs: ${graph.outputNames.join(", ")})`,
    );
  }
  if (output.isTensor && output.type !== "float32") {
    throw invalid(
      `Probability output '${probability.name}' is ${output.type}; it must be float32 (is ZipMap turned off?)`,
    );
  }
  const columns = output.isTensor ? output.shape[1] : undefined;
  if (probability.column !== undefined && typeof columns === "number" && probability.column >= columns) {
    throw invalid(
      `Probability column ${probability.column} is out of range: '${probability.name}' has ${columns} columns`,
    );
  }
  for (const [role, spec] of Object.entries(outputs)) {
    if (spec && !graph.outputNames.includes(spec.name)) {
      throw invalid(
        `Output '${role}' names '${spec.name}', but the graph outputs ${graph.outputNames.join(", ")}`,
      );
    }
  }
}
