import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import { jsonBody } from "#shared/content-type.ts";
import { ChurnError } from "#shared/errors.ts";
import { type FeedbackEvent, feedbackRequestSchema, feedbackResponseSchema } from "#shared/events.ts";
import { newId } from "#shared/ids.ts";
import { bearerSecurity, errorResponses } from "#shared/openapi.ts";
import type { HonoEnv } from "../env.ts";
import { type KeyResolver, requireToken } from "../middleware/auth.ts";
import { rateLimit } from "../middleware/rate-limit.ts";

const MAX_BODY_BYTES = 512 * 1024;

/**
 * Records observed outcomes for monitoring. The 202 is sent only after the queue has accepted the event, so
 * an accepted outcome is never lost; if the queue refuses, the client gets a 503 and can retry.
 */
export function registerFeedback(app: OpenAPIHono<HonoEnv>, resolver: KeyResolver): void {
  const route = createRoute({
    method: "post",
    path: "/v1/feedback",
    summary: "Record observed churn outcomes (1 to 1,000) for monitoring",
    security: bearerSecurity,
    middleware: [
      requireToken({ resolver, scope: "feedback:write" }),
      rateLimit(),
      ...jsonBody(MAX_BODY_BYTES),
    ] as const,
    request: { body: { required: true, content: { "application/json": { schema: feedbackRequestSchema } } } },
    responses: {
      202: { description: "Accepted", content: { "application/json": { schema: feedbackResponseSchema } } },
      ...errorResponses(400, 401, 403, 413, 415, 503),
    },
  });
  app.openapi(route, async (c) => {
    const { feedback } = c.req.valid("json");
    const now = new Date().toISOString();
    const event: FeedbackEvent = {
      type: "feedback",
      eventId: newId("event"),
      tenantId: c.get("principal").tenantId,
      at: now,
      feedback: feedback.map((f) => ({
        ...(f.customerId !== undefined ? { customerId: f.customerId } : {}),
        ...(f.predictionId !== undefined ? { predictionId: f.predictionId } : {}),
        churned: f.churned,
        observedAt: f.observedAt ?? now,
      })),
    };
    try {
      await c.env.EVENTS.send(event, { contentType: "json" });
    } catch (err) {
      throw new ChurnError("UNAVAILABLE", "Feedback could not be queued; retry", { cause: err });
    }
    c.get("event").records = feedback.length;
    return c.json({ accepted: feedback.length, eventId: event.eventId }, 202);
  });
}
