import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import { bodyLimit } from "hono/body-limit";
import { requireContentType } from "../../../shared/src/content-type.ts";
import { ChurnError, validationError } from "../../../shared/src/errors.ts";
import { newId } from "../../../shared/src/ids.ts";
import { riskBand } from "../../../shared/src/manifest.ts";
import { bearerSecurity, errorResponses } from "../../../shared/src/openapi.ts";
import {
  type Prediction,
  type PredictResponse,
  predictRequestSchema,
  predictResponseSchema,
  type Reason,
} from "../../../shared/src/predict.ts";
import type { HonoEnv } from "../env.ts";
import { type KeyResolver, requireToken } from "../middleware/auth.ts";
import { score } from "../models/score.ts";
import { resolveServingModel } from "../models/serving.ts";

/** 1,000 records of a few dozen fields fit comfortably; anything larger is refused before parsing. */
export const MAX_BODY_BYTES = 2 * 1024 * 1024;

export function predictRoute(resolver: KeyResolver) {
  return createRoute({
    method: "post",
    path: "/v1/predict",
    summary: "Score 1 to 1,000 customers with the tenant's live model",
    security: bearerSecurity,
    middleware: [
      requireToken({ resolver, scope: "predict" }),
      requireContentType("application/json"),
      bodyLimit({
        maxSize: MAX_BODY_BYTES,
        onError: () => {
          throw new ChurnError("PAYLOAD_TOO_LARGE", `Body exceeds ${MAX_BODY_BYTES} bytes`);
        },
      }),
    ] as const,
    request: { body: { required: true, content: { "application/json": { schema: predictRequestSchema } } } },
    responses: {
      200: { description: "Predictions", content: { "application/json": { schema: predictResponseSchema } } },
      ...errorResponses(400, 401, 403, 413, 415, 503),
    },
  });
}

function topReasons(
  contributions: Float32Array,
  row: number,
  record: Record<string, unknown>,
  names: readonly string[],
  k: number,
): Reason[] {
  const f = names.length;
  const order: number[] = [];
  for (let j = 0; j < f; j++) order.push(j);
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

export function registerPredict(app: OpenAPIHono<HonoEnv>, resolver: KeyResolver): void {
  app.openapi(predictRoute(resolver), async (c) => {
    const body = c.req.valid("json");
    const { tenantId } = c.get("principal");
    // zod's copy drops `__proto__`-style keys silently; encode the records exactly as the client sent them.
    const records = ((await c.req.json()) as { records: Record<string, unknown>[] }).records;
    const firstCustomer = records[0]?.["customerId"];
    const serving = await resolveServingModel(
      c.env.EDGE_KV,
      tenantId,
      typeof firstCustomer === "string" ? firstCustomer : undefined,
      (p) => c.executionCtx.waitUntil(p),
    );
    const { model, ref, variant } = serving;
    const encoded = model.encoder.encode(records, serving.deployment.allowUnknownFields);
    if (encoded.issues.length > 0)
      throw validationError(encoded.issues, "Records do not match the live model");
    const n = records.length;
    const { probabilities, contributions } = await score(model, encoded.columns, n);
    const { threshold, riskBands, name } = model.manifest;
    const names = model.manifest.features.map((f) => f.name);
    const predictions: Prediction[] = new Array(n);
    for (let i = 0; i < n; i++) {
      const probability = Math.min(1, Math.max(0, probabilities[i]!));
      const customerId = encoded.customerIds[i];
      predictions[i] = {
        predictionId: newId("prediction"),
        ...(customerId !== undefined ? { customerId } : {}),
        probability,
        contact: probability >= threshold,
        riskBand: riskBand(probability, riskBands),
        ...(body.explain && contributions
          ? { reasons: topReasons(contributions, i, records[i]!, names, body.topReasons) }
          : {}),
      };
    }
    const event = c.get("event");
    event.tenantId = tenantId;
    event.modelVersionId = ref.versionId;
    event.variant = variant;
    event.records = n;
    const response: PredictResponse = {
      predictions,
      model: { name, version: ref.version, versionId: ref.versionId, variant, threshold },
    };
    return c.json(response, 200);
  });
}
