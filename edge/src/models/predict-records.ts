import { ChurnError, type FieldIssue } from "#shared/errors.ts";
import { newId } from "#shared/ids.ts";
import { riskBand } from "#shared/manifest.ts";
import type { Prediction, PredictResponse, Reason } from "#shared/predict.ts";
import type { ScoredGroup } from "../events/prediction-events.ts";
import type { EncodedBatch } from "./features.ts";
import { score } from "./score.ts";
import {
  loadOptional,
  loadProduction,
  type ServingModel,
  tenantDeployment,
  type WaitUntil,
} from "./serving.ts";
import { isCanary } from "./variant.ts";

export interface PredictOptions {
  explain: boolean;
  topReasons: number;
}

interface Group {
  serving: ServingModel;
  rows: number[];
  encoded?: EncodedBatch;
}

/** Records the live model's schema refused: the 400's issues and every error counted per field. */
export interface RejectedRecords {
  issues: FieldIssue[];
  fieldErrors: Map<string, number>;
  /** The production version that refused them. */
  versionId: string;
}

export type PredictOutcome =
  | { response: PredictResponse; groups: ScoredGroup[]; rejected?: undefined }
  | { rejected: RejectedRecords };

function customerIdOf(record: Record<string, unknown>): string | undefined {
  const id = record["customerId"];
  return typeof id === "string" ? id : undefined;
}

/**
 * Scores records with the tenant's deployment: each record goes to production or, sticky by customer, to
 * the canary; each group is validated against its own model's manifest. Records that fail it come back as
 * `rejected` (the caller answers 400). Shadows score the same records after the response, in waitUntil;
 * their results are logged, never returned. The scored groups keep their encoded columns for the events.
 */
export async function predictRecords(
  kv: KVNamespace,
  tenantId: string,
  records: Record<string, unknown>[],
  options: PredictOptions,
  waitUntil: WaitUntil,
  event: Record<string, unknown>,
): Promise<PredictOutcome> {
  const deployment = await tenantDeployment(kv, tenantId, waitUntil);
  const production: Group = { serving: await loadProduction(kv, deployment, waitUntil), rows: [] };
  const groups = [production];
  if (deployment.canary && deployment.canary.weight > 0) {
    const canaryRows: number[] = [];
    for (let i = 0; i < records.length; i++) {
      (isCanary(deployment, customerIdOf(records[i]!)) ? canaryRows : production.rows).push(i);
    }
    const canary = canaryRows.length ? await loadOptional(kv, tenantId, deployment.canary, "canary") : null;
    if (canary) groups.push({ serving: canary, rows: canaryRows });
    else production.rows.push(...canaryRows);
  } else {
    for (let i = 0; i < records.length; i++) production.rows.push(i);
  }

  for (const group of groups) {
    const { maxRecords } = group.serving.model;
    if (group.rows.length > maxRecords) throw overBudget(maxRecords);
  }

  let rejected: RejectedRecords | undefined;
  for (const group of groups) {
    if (group.rows.length === 0) continue;
    const subset = group.rows.length === records.length ? records : group.rows.map((i) => records[i]!);
    const encoded = group.serving.model.encoder.encode(subset, deployment.allowUnknownFields, group.rows);
    group.encoded = encoded;
    if (!encoded.fieldErrors) continue;
    rejected ??= { issues: [], fieldErrors: new Map(), versionId: production.serving.ref.versionId };
    rejected.issues.push(...encoded.issues);
    for (const [field, n] of encoded.fieldErrors)
      rejected.fieldErrors.set(field, (rejected.fieldErrors.get(field) ?? 0) + n);
  }
  if (rejected) return { rejected };

  const predictions: Prediction[] = new Array(records.length);
  const served = new Float32Array(records.length);
  for (const group of groups) {
    if (!group.encoded) continue;
    const { model, ref, variant } = group.serving;
    const { probabilities, contributions } = await score(
      model,
      group.encoded.columns,
      group.rows.length,
      options.explain,
    );
    const { threshold, riskBands } = model.manifest;
    group.rows.forEach((row, j) => {
      const probability = Math.min(1, Math.max(0, probabilities[j]!));
      served[row] = probability;
      const customerId = group.encoded!.customerIds[j];
      predictions[row] = {
        predictionId: newId("prediction"),
        ...(customerId !== undefined ? { customerId } : {}),
        probability,
        contact: probability >= threshold,
        riskBand: riskBand(probability, riskBands),
        ...(contributions
          ? { reasons: topReasons(contributions, j, records[row]!, model.encoder.names, options.topReasons) }
          : {}),
        version: ref.version,
        variant: variant === "canary" ? "canary" : "production",
      };
    });
  }

  if (deployment.shadows.length > 0) {
    waitUntil(scoreShadows(kv, tenantId, deployment.shadows, records, served, deployment.allowUnknownFields));
  }
  const first = groups.find((g) => g.rows.includes(0)) ?? production;
  const { model, ref, variant } = first.serving;
  event.modelVersionId = ref.versionId;
  event.variants = groups.map((g) => `${g.serving.variant}:${g.rows.length}`).join(",");
  const response: PredictResponse = {
    predictions,
    model: {
      name: model.manifest.name,
      version: ref.version,
      versionId: ref.versionId,
      variant: variant === "canary" ? "canary" : "production",
      threshold: model.manifest.threshold,
    },
  };
  const scored: ScoredGroup[] = [];
  for (const { serving, rows, encoded } of groups) {
    if (!encoded) continue;
    scored.push({
      variant: serving.variant === "canary" ? "canary" : "production",
      versionId: serving.ref.versionId,
      version: serving.ref.version,
      rows,
      columns: encoded.columns,
      sketcher: serving.model.sketcher,
    });
  }
  return { response, groups: scored };
}

/**
 * A batch larger than the live model may score in one request (its per-request budget): 413, naming the
 * most it takes, so the client can split it. Never a 5xx: nothing is wrong but the batch's size.
 */
function overBudget(maxRecords: number): ChurnError {
  return new ChurnError(
    "PAYLOAD_TOO_LARGE",
    `The live model scores at most ${maxRecords} records per request; send them in batches of ${maxRecords} or fewer`,
    { issues: [{ path: "records", message: `at most ${maxRecords} records for the live model` }] },
  );
}

function topReasons(
  contributions: ArrayLike<number>,
  row: number,
  record: Record<string, unknown>,
  names: readonly string[],
  k: number,
): Reason[] {
  const f = names.length;
  const order = Array.from({ length: f }, (_, j) => j);
  order.sort((a, b) => Math.abs(contributions[row * f + b]!) - Math.abs(contributions[row * f + a]!));
  return order.slice(0, k).map((j) => {
    const value = record[names[j]!];
    return {
      feature: names[j]!,
      value: typeof value === "string" || typeof value === "number" ? value : null,
      contribution: contributions[row * f + j]!,
    };
  });
}

/** Scores the records with each shadow version and logs how it compares with what was served. */
async function scoreShadows(
  kv: KVNamespace,
  tenantId: string,
  shadows: readonly { versionId: string; version: number; sha256: string }[],
  records: Record<string, unknown>[],
  served: Float32Array,
  allowUnknownFields: boolean,
): Promise<void> {
  for (const ref of shadows) {
    const shadow = await loadOptional(kv, tenantId, ref, "shadow");
    if (!shadow) continue;
    if (records.length > shadow.model.maxRecords) {
      console.log(
        JSON.stringify({ msg: "shadow skipped", tenantId, versionId: ref.versionId, reason: "budget" }),
      );
      continue;
    }
    const encoded = shadow.model.encoder.encode(records, allowUnknownFields);
    if (encoded.issues.length > 0) {
      console.log(
        JSON.stringify({ msg: "shadow skipped", tenantId, versionId: ref.versionId, reason: "schema" }),
      );
      continue;
    }
    const { probabilities } = await score(shadow.model, encoded.columns, records.length, false);
    let absDiff = 0;
    let agree = 0;
    const threshold = shadow.model.manifest.threshold;
    for (let i = 0; i < records.length; i++) {
      absDiff += Math.abs(probabilities[i]! - served[i]!);
      if (probabilities[i]! >= threshold === served[i]! >= threshold) agree++;
    }
    console.log(
      JSON.stringify({
        msg: "shadow scored",
        tenantId,
        versionId: ref.versionId,
        records: records.length,
        meanAbsDiff: absDiff / records.length,
        decisionAgreement: agree / records.length,
      }),
    );
  }
}
