import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import { jsonBody } from "#shared/content-type.ts";
import { ChurnError, issuesFromZod, validationError } from "#shared/errors.ts";
import { ingestRequestSchema, ingestResponseSchema } from "#shared/events.ts";
import { errorResponses } from "#shared/openapi.ts";
import { SIGNATURE_HEADER, verifyBodySignature } from "#shared/signature.ts";
import type { HonoEnv } from "../../../platform/env.ts";
import { ingestEvents } from "../ingest.ts";

/** An event batch from the edge's queue consumer: at most 100 events with their records. */
export const INGEST_MAX_BYTES = 16 * 1024 * 1024;

export const ingestRoute = createRoute({
  method: "post",
  path: "/v1/ingest/events",
  summary: "Event batches from the edge's queue consumer (HMAC-signed, idempotent by event id)",
  description:
    `Signed with the shared INGEST_SECRET in the \`${SIGNATURE_HEADER}\` header: \`t=<unix>,v1=<hex HMAC-SHA256("<t>.<body>")>\`. ` +
    "Scored records and feedback items of a customer erased at or after the event's time are dropped and " +
    "counted in `erased`.",
  middleware: [...jsonBody(INGEST_MAX_BYTES)] as const,
  request: { body: { required: true, content: { "application/json": { schema: ingestRequestSchema } } } },
  responses: {
    200: { description: "Stored", content: { "application/json": { schema: ingestResponseSchema } } },
    ...errorResponses(400, 401, 413, 415, 503),
  },
});

export function registerIngestEvents(app: OpenAPIHono<HonoEnv>): void {
  // The signature covers the raw body, so this route parses the body itself after checking it.
  app.post(ingestRoute.path.replace(/{(\w+)}/g, ":$1"), ...ingestRoute.middleware, async (c) => {
    const deps = c.get("deps");
    const secret = deps.config.INGEST_SECRET;
    if (!secret) throw new ChurnError("UNAVAILABLE", "Event ingest is not configured (INGEST_SECRET)");
    const body = await c.req.text();
    if (!(await verifyBodySignature(secret, body, c.req.header(SIGNATURE_HEADER)))) {
      throw new ChurnError("UNAUTHORIZED", "Missing, invalid or stale event signature");
    }
    let json: unknown;
    try {
      json = JSON.parse(body);
    } catch {
      throw new ChurnError("INVALID_REQUEST", "Body is not valid JSON");
    }
    const parsed = ingestRequestSchema.safeParse(json);
    if (!parsed.success) throw validationError(issuesFromZod(parsed.error));
    const started = performance.now();
    const result = await ingestEvents(deps.db, parsed.data.events);
    c.get("metrics").monitoring.observeIngest(result, (performance.now() - started) / 1000);
    if (result.incompatibleSketches > 0) {
      deps.log.error({
        event: "ingest.incompatible_sketch",
        requestId: c.get("requestId"),
        sketches: result.incompatibleSketches,
      });
    }
    const { erased } = result;
    return c.json(
      ingestResponseSchema.parse({
        ...result,
        erased: erased.predictions + erased.feedback > 0 ? erased : undefined,
      }),
      200,
    );
  });
  // Document the route without its middleware list, which is not part of an OpenAPI operation.
  const { middleware: _middleware, ...documented } = ingestRoute;
  app.openAPIRegistry.registerPath(documented);
}
