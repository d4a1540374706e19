import { createHash } from "node:crypto";
import { copyFile, mkdir, readFile, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import * as ort from "onnxruntime-web";
import { z } from "zod";
import { ChurnError } from "#shared/errors.ts";
import { checkGraphSignature } from "#shared/graph-signature.ts";
import { type FeatureSpec, type Manifest, manifestSchema } from "#shared/manifest.ts";
import pkg from "../../../../package.json" with { type: "json" };
import { type Command, UsageError } from "../flags.ts";

ort.env.wasm.numThreads = 1;
ort.env.logLevel = "error";

/** What a bring-your-own-model user writes by hand: `required` defaults to true, categories to none. */
const featuresFileSchema = z
  .array(
    z.object({
      name: z.string(),
      type: z.enum(["numeric", "categorical"]),
      required: z.boolean().default(true),
      categories: z.array(z.string()).default([]),
    }),
  )
  .min(1);

/** Probability cut-offs between risk bands when the model comes without its own. */
const DEFAULT_RISK_BANDS = { medium: 0.3, high: 0.6 };

export interface ExternalModelOptions {
  onnx: string;
  features: string;
  out: string;
  name?: string;
  /** `output` or `output:column`, e.g. `probabilities:1` for a [N,2] classifier output. */
  probabilityOutput?: string;
  threshold?: number;
}

/**
 * Describes a model trained elsewhere (skl2onnx, onnxmltools, ...) so the registry accepts it: the feature
 * schema is checked against the graph's inputs here, with errors naming the mismatch, rather than at
 * publish time.
 */
export async function writeExternalManifest(
  options: ExternalModelOptions,
): Promise<{ manifest: Manifest; dir: string }> {
  const bytes = new Uint8Array(await readInput(options.onnx, "ONNX model"));
  const features = parseFeatures(await readInput(options.features, "features file"), options.features);
  const probability = parseProbabilityOutput(options.probabilityOutput ?? "probabilities:1");
  await checkAgainstGraph(bytes, features, probability);
  const header = readModelHeader(bytes);

  const manifest = manifestSchema.parse({
    schemaVersion: 1,
    name: options.name ?? "external-model",
    family: "external",
    createdAt: new Date().toISOString(),
    target: { column: "churn", positive: "1" },
    features,
    outputs: { probability },
    threshold: options.threshold ?? 0.5,
    riskBands: DEFAULT_RISK_BANDS,
    onnx: {
      sha256: createHash("sha256").update(bytes).digest("hex"),
      bytes: bytes.byteLength,
      irVersion: header.irVersion,
      opset: header.opset,
    },
    // Trained elsewhere: the platform has no holdout of its own to report.
    metrics: { holdout: {} },
    lineage: { dataFingerprint: "external", trainerVersion: pkg.version, params: {}, seed: 0 },
  } satisfies Manifest);

  const dir = resolve(options.out);
  await mkdir(dir, { recursive: true });
  await copyFile(options.onnx, join(dir, "model.onnx"));
  await writeFile(join(dir, "manifest.json"), `${JSON.stringify(manifest, null, 2)}\n`);
  return { manifest, dir };
}

async function readInput(path: string, what: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (cause) {
    throw new ChurnError("INVALID_REQUEST", `Cannot read ${what} ${path}: ${(cause as Error).message}`, {
      cause,
    });
  }
}

function parseFeatures(text: Buffer, path: string): FeatureSpec[] {
  let json: unknown;
  try {
    json = JSON.parse(text.toString("utf8"));
  } catch (cause) {
    throw new ChurnError("INVALID_REQUEST", `${path} is not valid JSON: ${(cause as Error).message}`, {
      cause,
    });
  }
  const parsed = featuresFileSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new ChurnError(
      "INVALID_REQUEST",
      `${path}: ${issue.path.join(".") || "(root)"}: ${issue.message} (expected [{"name", "type": "numeric"|"categorical", "required"?, "categories"?}])`,
    );
  }
  return parsed.data.map((f) =>
    f.type === "numeric"
      ? { name: f.name, type: "numeric", required: f.required }
      : { name: f.name, type: "categorical", required: f.required, categories: f.categories },
  );
}

function parseProbabilityOutput(text: string): Manifest["outputs"]["probability"] {
  const match = /^([^:]+)(?::(\d+))?$/.exec(text);
  if (!match)
    throw new UsageError(`--probability-output must be <output> or <output>:<column>, got "${text}"`);
  return match[2] === undefined ? { name: match[1]! } : { name: match[1]!, column: Number(match[2]) };
}

async function checkAgainstGraph(
  bytes: Uint8Array,
  features: FeatureSpec[],
  probability: Manifest["outputs"]["probability"],
): Promise<void> {
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(bytes, { logSeverityLevel: 3 });
  } catch (err) {
    throw new ChurnError("INVALID_MODEL", `The ONNX model does not load in onnxruntime: ${String(err)}`);
  }
  try {
    checkGraphSignature(session, features, { probability });
  } finally {
    await session.release();
  }
}

/**
 * Reads ModelProto.ir_version (field 1) and the default-domain opset_import (field 8) from the top level
 * of the model bytes; the graph itself (field 7) is skipped without being decoded.
 */
export function readModelHeader(bytes: Uint8Array): { irVersion: number; opset: number } {
  const reader = new ProtoReader(bytes, 0, bytes.length);
  let irVersion: number | undefined;
  let opset: number | undefined;
  while (!reader.done()) {
    const { field, wireType } = reader.tag();
    if (field === 1 && wireType === 0) irVersion = reader.varint();
    else if (field === 8 && wireType === 2) {
      const entry = reader.message();
      let domain = "";
      let version: number | undefined;
      while (!entry.done()) {
        const inner = entry.tag();
        if (inner.field === 1 && inner.wireType === 2) domain = entry.string();
        else if (inner.field === 2 && inner.wireType === 0) version = entry.varint();
        else entry.skip(inner.wireType);
      }
      if ((domain === "" || domain === "ai.onnx") && version !== undefined) opset = version;
    } else reader.skip(wireType);
  }
  if (irVersion === undefined || opset === undefined) {
    throw new ChurnError("INVALID_MODEL", "The ONNX model has no IR version or default-domain opset import");
  }
  return { irVersion, opset };
}

/** Just enough of the protobuf wire format to walk a message's top-level fields. */
class ProtoReader {
  readonly #bytes: Uint8Array;
  #pos: number;
  readonly #end: number;

  constructor(bytes: Uint8Array, start: number, end: number) {
    this.#bytes = bytes;
    this.#pos = start;
    this.#end = end;
  }

  done(): boolean {
    return this.#pos >= this.#end;
  }

  tag(): { field: number; wireType: number } {
    const key = this.varint();
    return { field: Math.floor(key / 8), wireType: key % 8 };
  }

  varint(): number {
    let value = 0;
    let scale = 1;
    for (;;) {
      if (this.#pos >= this.#end) throw new ChurnError("INVALID_MODEL", "The ONNX model is truncated");
      const byte = this.#bytes[this.#pos++]!;
      value += (byte & 0x7f) * scale;
      if (byte < 0x80) return value;
      scale *= 128;
    }
  }

  message(): ProtoReader {
    const length = this.varint();
    const start = this.#pos;
    this.#pos += length;
    if (this.#pos > this.#end) throw new ChurnError("INVALID_MODEL", "The ONNX model is truncated");
    return new ProtoReader(this.#bytes, start, start + length);
  }

  string(): string {
    const length = this.varint();
    const text = new TextDecoder().decode(this.#bytes.subarray(this.#pos, this.#pos + length));
    this.#pos += length;
    return text;
  }

  skip(wireType: number): void {
    if (wireType === 0) this.varint();
    else if (wireType === 1) this.#pos += 8;
    else if (wireType === 2) {
      // Read the length first: `#pos += varint()` would add it to the position from before the varint.
      const length = this.varint();
      this.#pos += length;
    } else if (wireType === 5) this.#pos += 4;
    else
      throw new ChurnError("INVALID_MODEL", `Unsupported protobuf wire type ${wireType} in the ONNX model`);
  }
}

export const manifestCommand: Command = {
  summary: "Describe an ONNX model trained elsewhere (scikit-learn, XGBoost) so it can be published",
  usage: `churn manifest --onnx <file> --features <json> --out <dir> [options]

  --onnx <file>                  ONNX classifier with one input per raw column (float [N,1] or string [N,1]);
                                 from skl2onnx / onnxmltools with ZipMap off
  --features <json>              [{"name", "type": "numeric"|"categorical", "required"?, "categories"?}]
  --out <dir>                    writes model.onnx and manifest.json, ready for \`churn publish\`
  --name <name>                  model name (default "external-model")
  --probability-output <o[:c]>   output holding the positive-class probability, and its column
                                 (default probabilities:1)
  --threshold <t>                decision threshold in [0,1] (default 0.5)
  --json                         print the manifest as JSON`,
  options: {
    onnx: { type: "string" },
    features: { type: "string" },
    out: { type: "string" },
    name: { type: "string" },
    "probability-output": { type: "string" },
    threshold: { type: "string" },
    json: { type: "boolean" },
  },
  async run(values, io) {
    const flag = (name: string): string => {
      const value = values[name];
      if (typeof value !== "string" || value === "") throw new UsageError(`missing required flag --${name}`);
      return value;
    };
    let threshold: number | undefined;
    if (values.threshold !== undefined) {
      threshold = Number(values.threshold);
      if (!(threshold >= 0 && threshold <= 1))
        throw new UsageError(`--threshold must be a number in [0,1], got "${values.threshold}"`);
    }
    const { manifest, dir } = await writeExternalManifest({
      onnx: flag("onnx"),
      features: flag("features"),
      out: flag("out"),
      ...(typeof values.name === "string" ? { name: values.name } : {}),
      ...(typeof values["probability-output"] === "string"
        ? { probabilityOutput: values["probability-output"] }
        : {}),
      ...(threshold !== undefined ? { threshold } : {}),
    });
    io.out(
      values.json
        ? `${JSON.stringify(manifest, null, 2)}\n`
        : `wrote ${dir} (model.onnx, manifest.json): ${manifest.features.length} features, opset ${manifest.onnx.opset}; publish with \`churn publish ${dir} --deploy\`\n`,
    );
    return 0;
  },
};
