import { ChurnError } from "../../../shared/src/errors.ts";
import { sha256Hex } from "../../../shared/src/hash.ts";
import { type Manifest, manifestSchema } from "../../../shared/src/manifest.ts";
import { compileEncoder, type FeatureEncoder } from "./features.ts";
import { loadOrt, type Ort, type OrtSession } from "./ort.ts";

/** A model version ready to score: its session, manifest and compiled encoder, built once per isolate. */
export interface LoadedModel {
  versionId: string;
  manifest: Manifest;
  encoder: FeatureEncoder;
  session: OrtSession;
  ort: Ort;
  bytes: number;
}

/** Builds a LoadedModel from bytes and manifest text, refusing bytes whose sha256 is not the expected one. */
export async function buildModel(
  versionId: string,
  bytes: ArrayBuffer,
  manifestText: string,
  expectedSha256: string,
): Promise<LoadedModel> {
  const actual = await sha256Hex(bytes);
  if (actual !== expectedSha256) {
    throw new ChurnError("MODEL_UNAVAILABLE", `Model ${versionId} failed its integrity check`);
  }
  const manifest = manifestSchema.parse(JSON.parse(manifestText));
  const ort = await loadOrt();
  const session = await ort.InferenceSession.create(new Uint8Array(bytes), {
    executionProviders: ["wasm"],
    graphOptimizationLevel: "all",
  });
  return { versionId, manifest, encoder: compileEncoder(manifest), session, ort, bytes: bytes.byteLength };
}
