import * as ort from "onnxruntime-web";
import { ChurnError } from "#shared/errors.ts";
import { checkGraphSignature } from "#shared/graph-signature.ts";
import type { Manifest } from "#shared/manifest.ts";

export interface ModelValidator {
  /** Throws INVALID_MODEL naming the first mismatch between the manifest and the graph. */
  validate(bytes: Uint8Array, manifest: Manifest): Promise<void>;
}

ort.env.wasm.numThreads = 1;
ort.env.logLevel = "error";

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
        checkGraphSignature(session, manifest.features, manifest.outputs);
      } finally {
        await session.release();
      }
    },
  };
}
