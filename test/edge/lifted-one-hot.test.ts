import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { sha256Hex } from "#shared/hash.ts";
import { liftOneHotEncoders } from "#shared/onnx/lift-one-hot.ts";
import { decodeModel } from "#shared/onnx/model-proto.ts";
import { packOneHotInputs } from "#shared/onnx/pack-one-hot.ts";
import { compileGraphFeeds } from "../../edge/src/models/graph-feeds.ts";
import { buildModel, type LoadedModel } from "../../edge/src/models/loaded-model.ts";
import { loadOrt, type OrtTensor, SESSION_OPTIONS } from "../../edge/src/models/ort.ts";
import { score } from "../../edge/src/models/score.ts";
import { type FixtureKind, fixtureManifest, modelBytes } from "./harness.ts";

/** The fixture's manifest and explainer as KV would hold them. */
function fixtureArtifacts(kind: FixtureKind): { manifestText: string; explainer: ArrayBuffer | null } {
  if (kind === "tree")
    return { manifestText: env.TEST_TREE_MANIFEST, explainer: bytesOf(env.TEST_TREE_EXPLAINER) };
  if (kind === "mlp")
    return { manifestText: env.TEST_MLP_MANIFEST, explainer: bytesOf(env.TEST_MLP_EXPLAINER) };
  return { manifestText: env.TEST_MANIFEST, explainer: null };
}

const bytesOf = (text: string) => new TextEncoder().encode(text).buffer as ArrayBuffer;

async function load(kind: FixtureKind): Promise<LoadedModel> {
  const bytes = modelBytes(kind);
  const { manifestText, explainer } = fixtureArtifacts(kind);
  const copy = bytes.slice().buffer as ArrayBuffer;
  return buildModel(`mv_${kind}`, { bytes: copy, manifestText, explainer }, await sha256Hex(copy));
}

/** Deterministic varied records: known, unknown, numeric-looking, NUL-bearing and missing categories. */
function records(kind: FixtureKind, count: number): Record<string, unknown>[] {
  const features = fixtureManifest(kind).features;
  let seed = 12345;
  const next = () => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed / 2147483648;
  };
  const out: Record<string, unknown>[] = [];
  for (let i = 0; i < count; i++) {
    const record: Record<string, unknown> = {};
    for (const f of features) {
      const roll = next();
      if (f.type === "numeric") {
        const lo = f.min ?? 0;
        const hi = f.max ?? 1;
        if (roll < 0.1) record[f.name] = null;
        else if (roll < 0.9) record[f.name] = lo + (hi - lo) * next();
        continue;
      }
      const known = f.categories[Math.floor(next() * f.categories.length)] ?? "x";
      if (roll < 0.55) record[f.name] = known;
      else if (roll < 0.65) record[f.name] = "not-a-category";
      else if (roll < 0.72) record[f.name] = null;
      else if (roll < 0.78) record[f.name] = "";
      else if (roll < 0.84) record[f.name] = `${known}\u0000tail`;
      else if (roll < 0.9) record[f.name] = ` ${known}`;
      else if (roll < 0.95) record[f.name] = 42;
      // else: the field is absent.
    }
    out.push(record);
  }
  return out;
}

/** The published graph scored as before lifting: every categorical column fed as a string tensor. */
async function scoreOriginal(
  kind: FixtureKind,
  model: LoadedModel,
  columns: (Float32Array | string[])[],
  n: number,
  fetch: string[],
): Promise<Record<string, OrtTensor>> {
  const ort = await loadOrt();
  const session = await ort.InferenceSession.create(modelBytes(kind), SESSION_OPTIONS);
  try {
    const feeds: Record<string, OrtTensor> = {};
    model.manifest.features.forEach((feature, j) => {
      feeds[model.encoder.inputs[j]!] =
        feature.type === "numeric"
          ? new ort.Tensor("float32", columns[j] as Float32Array, [n, 1])
          : new ort.Tensor("string", columns[j] as string[], [n, 1]);
    });
    return await session.run(feeds, fetch);
  } finally {
    await session.release();
  }
}

function probabilitiesOf(model: LoadedModel, out: Record<string, OrtTensor>, n: number): Float32Array {
  const { name, column } = model.manifest.outputs.probability;
  const tensor = out[name]!;
  const data = tensor.data as Float32Array;
  if (column === undefined) return data;
  const width = tensor.dims[1] ?? 1;
  return Float32Array.from({ length: n }, (_, i) => data[i * width + column]!);
}

describe("one-hot encoders lifted out of the scoring graph, numeric inputs packed", () => {
  for (const kind of ["linear", "tree", "mlp"] as const) {
    it(`scores the ${kind} fixture bit-identically to the published graph fed with text`, async () => {
      const model = await load(kind);
      const categorical = model.manifest.features.filter((f) => f.type === "categorical").length;
      expect(categorical).toBeGreaterThan(0);
      // The session runs the rewritten graph: no categorical field is a graph input any more.
      const categoricalInputs = model.encoder.inputs.filter(
        (_, j) => model.manifest.features[j]!.type === "categorical",
      );
      for (const input of categoricalInputs) expect(model.session.inputNames).not.toContain(input);
      // ...and their one-hot columns arrive packed in one input, read by the Concat directly (no Split).
      expect(model.session.inputNames).toContain("onehot:packed");
      const packed = packOneHotInputs(liftOneHotEncoders(modelBytes(kind))!)!;
      const ops = decodeModel(packed.bytes).graph!.nodes.map((n) => n.opType);
      expect(ops).not.toContain("Split");
      expect(ops).not.toContain("Flatten");
      // The numeric fields arrive side by side in one input too: two tensors per run in all.
      expect(model.session.inputNames).toHaveLength(2);

      const all = records(kind, 200);
      const batch = model.encoder.encode(all, true);
      const fetch = model.fetches.explain;
      const original = await scoreOriginal(kind, model, batch.columns, all.length, fetch);
      const expected = probabilitiesOf(model, original, all.length);

      const batched = await score(model, batch.columns, all.length, true);
      expect(Array.from(batched.probabilities)).toEqual(Array.from(expected));

      // One record at a time (the refilled single-row inputs), sequentially and overlapping.
      const singles = all.map((r) => model.encoder.encode([r], true).columns);
      const sequential: number[] = [];
      for (const columns of singles)
        sequential.push((await score(model, columns, 1, false)).probabilities[0]!);
      expect(sequential).toEqual(Array.from(expected));
      const overlapping = await Promise.all(singles.map((columns) => score(model, columns, 1, false)));
      expect(overlapping.map((s) => s.probabilities[0]!)).toEqual(Array.from(expected));

      // The lifted graph without packing (what a graph whose blocks cannot be packed runs) agrees as well.
      const lifted = liftOneHotEncoders(modelBytes(kind))!;
      const ort = await loadOrt();
      const liftedModel: LoadedModel = {
        ...model,
        session: await ort.InferenceSession.create(lifted.bytes, SESSION_OPTIONS),
        feeds: compileGraphFeeds(ort, model.manifest.features, model.encoder.inputs, {
          kind: "lifted",
          oneHots: lifted.oneHots,
        }),
      };
      try {
        const liftedBatch = await score(liftedModel, batch.columns, all.length, false);
        expect(Array.from(liftedBatch.probabilities)).toEqual(Array.from(expected));
        const liftedSingles: number[] = [];
        for (const columns of singles)
          liftedSingles.push((await score(liftedModel, columns, 1, false)).probabilities[0]!);
        expect(liftedSingles).toEqual(Array.from(expected));
      } finally {
        await liftedModel.session.release();
      }

      // In-graph contributions (the linear model's) are unchanged too.
      const { contributions } = model.manifest.outputs;
      if (contributions) {
        const want = original[contributions.name]!.data as Float32Array;
        expect(Array.from(batched.contributions!)).toEqual(Array.from(want));
      }
    });
  }
});
