import * as ort from "onnxruntime-web";
import { ChurnError } from "../../../shared/src/errors.ts";
import type { Manifest } from "../../../shared/src/manifest.ts";

export interface ModelValidator {
  /** Throws INVALID_MODEL naming the first mismatch between the manifest and the graph. */
  validate(bytes: Uint8Array, manifest: Manifest): Promise<void>;
}

ort.env.wasm.numThreads = 1;
ort.env.logLevel = "error";

const EXPECTED_INPUT_TYPE = { numeric: "float32", categorical: "string" } as const;

/** Loads the model in onnxruntime (the same engine the edge runs) and checks the manifest against it. */
export function onnxRuntimeValidator(): ModelValidator {
  return {
    async validate(bytes, manifest) {
      let session: ort.InferenceSession;
      try {
        // Severity 3 (errors): onnxruntime's graph-optimiser notes are not the publisher's problem.
        session = await ort.InferenceSession.create(bytes, { logSeverityLevel: 3 });
      } catch (err) {
        throw new ChurnError("INVALID_MODEL", `The ONNX model does not load in onnxruntime: ${String(err)}`);
      }
      try {
        const inputs = new Map(session.inputMetadata.map((m) => [m.name, m]));
        for (const feature of manifest.features) {
          const input = inputs.get(feature.name);
          if (!input) {
            throw new ChurnError(
              "INVALID_MODEL",
              `Manifest feature '${feature.name}' has no graph input of that name`,
            );
          }
          const expected = EXPECTED_INPUT_TYPE[feature.type];
          if (input.isTensor && input.type !== expected) {
            throw new ChurnError(
              "INVALID_MODEL",
              `Graph input '${feature.name}' is ${input.type}, but a ${feature.type} feature needs ${expected}`,
            );
          }
          inputs.delete(feature.name);
        }
        if (inputs.size > 0) {
          throw new ChurnError(
            "INVALID_MODEL",
            `Graph inputs without a manifest feature: ${[...inputs.keys()].join(", ")}`,
          );
        }
        const outputs = new Set(session.outputNames);
        for (const [role, spec] of Object.entries(manifest.outputs)) {
          if (spec && !outputs.has(spec.name)) {
            throw new ChurnError(
              "INVALID_MODEL",
              `Manifest output '${role}' names '${spec.name}', but the graph outputs ${[...outputs].join(", ")}`,
            );
          }
        }
      } finally {
        await session.release();
      }
    },
  };
}
