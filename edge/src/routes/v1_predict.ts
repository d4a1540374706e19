import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import { jsonBody } from "#shared/content-type.ts";
import { validationError } from "#shared/errors.ts";
import { bearerSecurity, errorResponses } from "#shared/openapi.ts";
import { predictRequestSchema, predictResponseSchema } from "#shared/predict.ts";
import type { HonoEnv } from "../env.ts";
import { emitQuietly, emitScored, rejectedEvent } from "../events/emit.ts";
import { type KeyResolver, requireToken } from "../middleware/auth.ts";
import { prefetchModel } from "../middleware/prefetch-model.ts";
import { rateLimit } from "../middleware/rate-limit.ts";
import { type PredictOutcome, predictRecords } from "../models/predict-records.ts";
import { reservePredictions, settlePredictions } from "../quota/meter.ts";

/** 1,000 records of a few dozen fields fit comfortably; anything larger is refused before parsing. */
export const MAX_BODY_BYTES = 2 * 1024 * 1024;

export function predictRoute(resolver: KeyResolver) {
  return createRoute({
    method: "post",
    path: "/v1/predict",
    summary: "Score 1 to 1,000 customers with the tenant's live model",
    description:
      "Every scored record counts towards the tenant's monthly prediction quota and the client's own, if set " +
      "(calendar months, UTC). A request the quotas cannot cover in full is refused with 429 " +
      "`QUOTA_EXCEEDED` and `Retry-After` (seconds until the month ends); refused requests do not count.",
    security: bearerSecurity,
    middleware: [
      requireToken({ resolver, scope: "predict" }),
      prefetchModel(),
      rateLimit(),
      ...jsonBody(MAX_BODY_BYTES),
    ] as const,
    request: { body: { required: true, content: { "application/json": { schema: predictRequestSchema } } } },
    responses: {
      200: { description: "Predictions", content: { "application/json": { schema: predictResponseSchema } } },
      ...errorResponses(400, 401, 403, 413, 415, 429, 503),
    },
  });
}

export function registerPredict(app: OpenAPIHono<HonoEnv>, resolver: KeyResolver): void {
  app.openapi(predictRoute(resolver), async (c) => {
    const body = c.req.valid("json");
    // The records exactly as the client sent them (the schema checks each is an object, copying none).
    const records = body.records;
    const event = c.get("event");
    event.records = records.length;
    const { tenantId, clientId } = c.get("principal");
    const waitUntil = (p: Promise<unknown>) => c.executionCtx.waitUntil(p);
    const quotas = c.get("limits").quotas;
    const meter = await reservePredictions(
      c.env.PREDICTION_QUOTA,
      tenantId,
      clientId,
      quotas,
      records.length,
    );
    let outcome: PredictOutcome;
    try {
      outcome = await predictRecords(
        c.env.EDGE_KV,
        tenantId,
        records,
        { explain: body.explain, topReasons: body.topReasons },
        waitUntil,
        event,
      );
    } catch (err) {
      settlePredictions(c.env.PREDICTION_QUOTA, meter, quotas, records.length, false, waitUntil);
      throw err;
    }
    // Only records scored for the caller count: refused ones do not, and shadows score on the side.
    settlePredictions(c.env.PREDICTION_QUOTA, meter, quotas, records.length, !outcome.rejected, waitUntil);
    if (outcome.rejected) {
      const { issues, fieldErrors, versionId } = outcome.rejected;
      event.modelVersionId = versionId;
      waitUntil(
        Promise.resolve().then(() =>
          emitQuietly(c.env.EVENTS, [rejectedEvent(tenantId, versionId, records.length, fieldErrors)]),
        ),
      );
      throw validationError(issues, "Records do not match the live model");
    }
    const { response, groups } = outcome;
    emitScored(
      c.env.EDGE_KV,
      c.env.EVENTS,
      { tenantId, records, predictions: response.predictions, groups },
      waitUntil,
    );
    return c.json(response, 200);
  });
}
