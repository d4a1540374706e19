import { ChurnError } from "#shared/errors.ts";
import { parseExplainerPackage } from "#shared/explainer.ts";
import { sha256Hex } from "#shared/hash.ts";
import { type Manifest, manifestSchema } from "#shared/manifest.ts";
import { createExplainer, type Explainer } from "#shared/model-runtime/explainer.ts";
import { maxRecordsPerRequest } from "#shared/onnx/inference-budget.ts";
import { liftOneHotEncoders } from "#shared/onnx/lift-one-hot.ts";
import { checkModelSafety, type ModelFootprint } from "#shared/onnx/model-safety.ts";
import { type PackedNumerics, packNumericInputs } from "#shared/onnx/pack-numeric.ts";
import { packOneHotInputs } from "#shared/onnx/pack-one-hot.ts";
import { compileSketcher, type Sketcher } from "../monitoring/sketch.ts";
import { compileEncoder, type FeatureEncoder } from "./features.ts";
import { compileGraphFeeds, type GraphFeeds, type OneHotLayout } from "./graph-feeds.ts";
import { loadOrt, type Ort, type OrtSession, SESSION_OPTIONS } from "./ort.ts";

/** A model version ready to score: its session, manifest and compiled encoder, built once per isolate. */
export interface LoadedModel {
  versionId: string;
  manifest: Manifest;
  encoder: FeatureEncoder;
  /** Builds the session's inputs from encoded columns (one-hot floats when the encoders were lifted). */
  feeds: GraphFeeds;
  session: OrtSession;
  ort: Ort;
  /** TreeSHAP / DeepLIFT for tree and MLP models, whose graph does not output contributions. */
  explainer: Explainer | undefined;
  /** Sketches traffic on the manifest's drift reference; undefined without one. */
  sketcher: Sketcher | undefined;
  /** Graph outputs to fetch, without and with in-graph contributions; built once per model. */
  fetches: { plain: string[]; explain: string[] };
  bytes: number;
  /** Records one request may score with this model: the per-request budget over its cost per record. */
  maxRecords: number;
}

export interface ModelArtifacts {
  bytes: ArrayBuffer;
  manifestText: string;
  explainer: ArrayBuffer | null;
}

/** Builds a LoadedModel, refusing bytes (or an explainer) whose sha256 is not the expected one. */
export async function buildModel(
  versionId: string,
  artifacts: ModelArtifacts,
  expectedSha256: string,
): Promise<LoadedModel> {
  if ((await sha256Hex(artifacts.bytes)) !== expectedSha256) {
    throw new ChurnError("MODEL_UNAVAILABLE", `Model ${versionId} failed its integrity check`);
  }
  const manifest = manifestSchema.parse(JSON.parse(artifacts.manifestText));
  let explainer: Explainer | undefined;
  if (manifest.explainer) {
    if (!artifacts.explainer || (await sha256Hex(artifacts.explainer)) !== manifest.explainer.sha256) {
      throw new ChurnError("MODEL_UNAVAILABLE", `Model ${versionId}'s explainer is missing or corrupt`);
    }
    explainer = createExplainer(
      parseExplainerPackage(JSON.parse(new TextDecoder().decode(artifacts.explainer))),
    );
  }
  // The publish check again, before ORT sees the bytes: KV may hold versions published before it existed.
  let footprint: ModelFootprint;
  try {
    footprint = checkModelSafety(new Uint8Array(artifacts.bytes));
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new ChurnError("MODEL_UNAVAILABLE", `Model ${versionId} cannot be served: ${reason}`, {
      cause: err,
    });
  }
  const { graph, layout, numerics } = scoringGraph(new Uint8Array(artifacts.bytes));
  const ort = await loadOrt();
  const session = await ort.InferenceSession.create(graph, SESSION_OPTIONS);
  const encoder = compileEncoder(manifest);
  return {
    versionId,
    manifest,
    encoder,
    feeds: compileGraphFeeds(ort, manifest.features, encoder.inputs, layout, numerics),
    session,
    ort,
    explainer,
    sketcher: compileSketcher(manifest),
    fetches: {
      plain: [manifest.outputs.probability.name],
      explain: [
        manifest.outputs.probability.name,
        ...(manifest.outputs.contributions ? [manifest.outputs.contributions.name] : []),
      ],
    },
    bytes: artifacts.bytes.byteLength + (artifacts.explainer?.byteLength ?? 0),
    maxRecords: maxRecordsPerRequest(footprint),
  };
}

/**
 * What ORT runs: a copy of the checked graph with its string one-hot encoders lifted out, their columns
 * packed into one input, and its numeric inputs packed into another, when each rewrite is safe; the same
 * arithmetic on floats encoded here instead of a string tensor and two kernels per categorical field, and
 * two input tensors per run instead of one per field. Otherwise the checked graph itself.
 */
function scoringGraph(bytes: Uint8Array): {
  graph: Uint8Array;
  layout: OneHotLayout;
  numerics: PackedNumerics | undefined;
} {
  const { graph, layout } = oneHotScoringGraph(bytes);
  const numerics = packNumericInputs(graph);
  return { graph: numerics?.bytes ?? graph, layout, numerics };
}

function oneHotScoringGraph(bytes: Uint8Array): { graph: Uint8Array; layout: OneHotLayout } {
  const lifted = liftOneHotEncoders(bytes);
  if (!lifted) return { graph: bytes, layout: { kind: "text" } };
  const packed = packOneHotInputs(lifted);
  if (!packed) return { graph: lifted.bytes, layout: { kind: "lifted", oneHots: lifted.oneHots } };
  return { graph: packed.bytes, layout: { kind: "packed", packed } };
}
