import { ChurnError } from "#shared/errors.ts";
import type { ExperimentRunInput } from "#shared/experiments.ts";
import { type ExplainerPackage, parseExplainerPackage } from "#shared/explainer.ts";
import { sha256Hex } from "#shared/hash.ts";
import { newId } from "#shared/ids.ts";
import type { Manifest } from "#shared/manifest.ts";
import { checkModelSafety } from "#shared/onnx/model-safety.ts";
import type { ModelVersion } from "#shared/registry.ts";
import { toIso } from "#shared/time.ts";
import type { Db, DbOrTx } from "../../platform/db/client.ts";
import type { ModelVersionRow } from "../../platform/db/schema/index.ts";
import { writeTransaction } from "../../platform/db/write-transaction.ts";
import { type AuditContext, appendAudit } from "../audit/audit.ts";
import { insertExperimentRuns } from "./experiment-runs.ts";
import type { ModelValidator } from "./model-validation.ts";
import {
  insertModel,
  insertVersion,
  latestVersionNumber,
  modelIdByName,
  newestVersions,
  tenantModels,
  tenantVersion,
  versionBySha,
  versionOnnx,
  versionReport,
} from "./queries.ts";

/** Stored as the publish route's validated manifest, so it is parsed, not validated again. */
export const manifestOf = (row: ModelVersionRow): Manifest => JSON.parse(row.manifest) as Manifest;

export function toModelVersion(
  row: ModelVersionRow,
  name: string,
  hasReport: boolean | number,
): ModelVersion {
  return {
    id: row.id,
    modelId: row.modelId,
    name,
    version: row.version,
    sha256: row.sha256,
    bytes: row.bytes,
    manifest: manifestOf(row),
    publishedBy: row.publishedBy,
    createdAt: toIso(row.createdAt),
    hasReport: Boolean(hasReport),
  };
}

export interface PublishInput {
  tenantId: string;
  name: string;
  manifest: Manifest;
  bytes: Uint8Array;
  /** explainer.json, required exactly when the manifest declares an explainer. */
  explainer?: Uint8Array | undefined;
  /** The candidates the training run tried; stored only when this publish creates the version. */
  runs?: ExperimentRunInput[] | undefined;
  /**
   * The trainer's report.html, already checked by the route. Stored only when this publish creates the
   * version: a version is immutable, so re-publishing its bytes with a report does not attach one.
   */
  report?: Uint8Array | undefined;
}

/** Checks the explainer package against the manifest: digest, size, format and feature order. */
async function checkExplainer(manifest: Manifest, explainer: Uint8Array | undefined): Promise<void> {
  const declared = manifest.explainer;
  if (!declared) {
    if (explainer)
      throw new ChurnError("INVALID_MODEL", "An explainer was uploaded but the manifest declares none");
    return;
  }
  if (!explainer) {
    throw new ChurnError(
      "INVALID_MODEL",
      "The manifest declares an explainer: upload explainer.json as 'explainer'",
    );
  }
  const sha256 = await sha256Hex(explainer);
  if (sha256 !== declared.sha256 || explainer.byteLength !== declared.bytes) {
    throw new ChurnError(
      "INVALID_MODEL",
      `explainer.json does not match manifest.explainer (sha256 ${sha256}, ${explainer.byteLength} bytes)`,
    );
  }
  let pkg: ExplainerPackage;
  try {
    pkg = parseExplainerPackage(JSON.parse(new TextDecoder().decode(explainer)));
  } catch (err) {
    throw new ChurnError(
      "INVALID_MODEL",
      `explainer.json is not a valid explainer package: ${(err as Error).message}`,
    );
  }
  const expected = manifest.features.map((f) => f.name).join(",");
  const actual = pkg.features.map((f) => f.name).join(",");
  if (expected !== actual) {
    throw new ChurnError(
      "INVALID_MODEL",
      `explainer features [${actual}] differ from manifest features [${expected}]`,
    );
  }
}

/**
 * Validates and stores a model version. Idempotent: the same bytes under the same model return the
 * existing version. The version row and its audit entry commit together or not at all.
 */
export async function publishModelVersion(
  db: Db,
  validator: ModelValidator,
  audit: AuditContext,
  input: PublishInput,
): Promise<{ created: boolean; version: ModelVersion }> {
  const { manifest, bytes, tenantId, name } = input;
  if (manifest.name !== name) {
    throw new ChurnError(
      "INVALID_MODEL",
      `Manifest name '${manifest.name}' does not match the model '${name}'`,
    );
  }
  const sha256 = await sha256Hex(bytes);
  if (manifest.onnx.sha256 !== sha256) {
    throw new ChurnError(
      "INVALID_MODEL",
      `Manifest onnx.sha256 ${manifest.onnx.sha256} does not match the uploaded bytes (${sha256})`,
    );
  }
  if (manifest.onnx.bytes !== bytes.byteLength) {
    throw new ChurnError(
      "INVALID_MODEL",
      `Manifest onnx.bytes ${manifest.onnx.bytes} does not match the upload size ${bytes.byteLength}`,
    );
  }
  const existing = await findVersionBySha(db, tenantId, name, sha256);
  if (existing) return { created: false, version: existing };

  // Before onnxruntime sees the bytes, here or at the edge: its isolates are shared by every tenant.
  checkModelSafety(bytes);
  await validator.validate(bytes, manifest);
  await checkExplainer(manifest, input.explainer);

  return writeTransaction(db, async (tx) => {
    const again = await findVersionBySha(tx, tenantId, name, sha256);
    if (again) return { created: false, version: again };
    const modelId = await ensureModel(tx, audit, tenantId, name);
    const last = await latestVersionNumber(tx, modelId);
    const row: ModelVersionRow = {
      id: newId("modelVersion"),
      tenantId,
      modelId,
      version: last + 1,
      sha256,
      bytes: bytes.byteLength,
      manifest: JSON.stringify(manifest),
      publishedBy: `${audit.actor.type}:${audit.actor.id}`,
      createdAt: Date.now(),
    };
    await insertVersion(tx, row, { onnx: bytes, explainer: input.explainer, report: input.report });
    await insertExperimentRuns(tx, tenantId, row.id, input.runs ?? []);
    await appendAudit(tx, audit, {
      tenantId,
      action: "model_version.publish",
      targets: [
        { type: "model", id: modelId },
        { type: "model_version", id: row.id },
      ],
      details: {
        name,
        version: row.version,
        sha256,
        family: manifest.family,
        ...(input.runs ? { experimentRuns: input.runs.length } : {}),
        ...(input.report ? { reportBytes: input.report.byteLength } : {}),
      },
    });
    return { created: true, version: toModelVersion(row, name, input.report !== undefined) };
  });
}

async function ensureModel(tx: DbOrTx, audit: AuditContext, tenantId: string, name: string): Promise<string> {
  const existing = await modelIdByName(tx, tenantId, name);
  if (existing) return existing;
  const id = newId("model");
  await insertModel(tx, { id, tenantId, name, createdAt: Date.now() });
  await appendAudit(tx, audit, {
    tenantId,
    action: "model.create",
    targets: [{ type: "model", id }],
    details: { name },
  });
  return id;
}

async function findVersionBySha(
  db: DbOrTx,
  tenantId: string,
  name: string,
  sha256: string,
): Promise<ModelVersion | null> {
  const row = await versionBySha(db, tenantId, name, sha256);
  return row ? toModelVersion(row.version, name, row.hasReport) : null;
}

/** Loads a version of this tenant; a foreign or unknown id is the same 404. */
export async function getTenantVersion(
  db: DbOrTx,
  tenantId: string,
  versionId: string,
): Promise<{ row: ModelVersionRow; name: string }> {
  const row = await tenantVersion(db, tenantId, versionId);
  if (!row) throw new ChurnError("NOT_FOUND", `Model version '${versionId}' not found`);
  return { row: row.version, name: row.name };
}

/**
 * A version's report.html, by model name and version number within the tenant. An unknown model or
 * version, or another tenant's, is NOT_FOUND; so is a version published without a report, with a message
 * that says so.
 */
export async function getVersionReport(
  db: DbOrTx,
  tenantId: string,
  name: string,
  version: number,
): Promise<{ versionId: string; report: Uint8Array }> {
  const row = await versionReport(db, tenantId, name, version);
  if (!row) throw new ChurnError("NOT_FOUND", `Model '${name}' has no version ${version}`);
  if (!row.report)
    throw new ChurnError(
      "NOT_FOUND",
      `${name} v${version} was published without a report: publish the training output folder with its report.html to keep one`,
    );
  return { versionId: row.id, report: new Uint8Array(row.report) };
}

/** The same report by version id, for the console's links; a foreign or unknown id is NOT_FOUND. */
export async function getVersionReportById(
  db: DbOrTx,
  tenantId: string,
  versionId: string,
): Promise<{ name: string; version: number; report: Uint8Array }> {
  const { row, name } = await getTenantVersion(db, tenantId, versionId);
  return { name, version: row.version, ...(await getVersionReport(db, tenantId, name, row.version)) };
}

/** The ONNX bytes of a version of this tenant; a foreign or unknown id is NOT_FOUND. */
export async function getVersionOnnx(
  db: DbOrTx,
  tenantId: string,
  versionId: string,
): Promise<{ row: ModelVersionRow; onnx: Uint8Array<ArrayBuffer> }> {
  const { row } = await getTenantVersion(db, tenantId, versionId);
  const onnx = await versionOnnx(db, row.id);
  if (!onnx) throw new ChurnError("NOT_FOUND", `Model version '${row.id}' has no stored bytes`);
  return { row, onnx: new Uint8Array(onnx) };
}

export interface ModelWithVersions {
  id: string;
  name: string;
  versions: ModelVersion[];
}

/** The tenant's models by name, each with its newest versions. */
export async function modelsWithVersions(
  db: DbOrTx,
  tenantId: string,
  limitPerModel = 50,
): Promise<ModelWithVersions[]> {
  const out: ModelWithVersions[] = [];
  for (const model of await tenantModels(db, tenantId)) {
    const versions = await newestVersions(db, tenantId, model.id, limitPerModel);
    out.push({
      id: model.id,
      name: model.name,
      versions: versions.map((v) => toModelVersion(v.version, model.name, v.hasReport)),
    });
  }
  return out;
}
