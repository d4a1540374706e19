import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import { jsonBody } from "#shared/content-type.ts";
import { erasureRequestSchema, erasureResultSchema } from "#shared/erasure.ts";
import { bearerSecurity, errorResponses } from "#shared/openapi.ts";
import type { HonoEnv } from "../../../platform/env.ts";
import { ADMIN_JSON_MAX_BYTES } from "../../../platform/http/body-limits.ts";
import { authenticate, requirePermission } from "../../../platform/middleware/auth.ts";
import { auditContextOf } from "../../audit/request-audit.ts";
import { eraseCustomerData } from "../erasure.ts";

export const createErasureRoute = createRoute({
  method: "post",
  path: "/v1/erasures",
  summary: "Erase what the platform stores about one customer (a data-subject erasure request)",
  description:
    "Deletes, in one transaction, the customer's scored predictions with their outcomes, their raw records " +
    "and their outcomes still waiting for a prediction. Name the customer by the `customerId` sent with " +
    "their records, or list the `predictionIds` returned for records sent without one. Hourly monitoring " +
    "aggregates are anonymous counts and stay. Audited as `customer.erase` with the row counts, never the " +
    "customer's id. Events still in the edge's queue arrive later: repeat the request once it has drained.",
  security: bearerSecurity,
  middleware: [
    authenticate(),
    requirePermission("customers:erase"),
    ...jsonBody(ADMIN_JSON_MAX_BYTES),
  ] as const,
  request: {
    body: { required: true, content: { "application/json": { schema: erasureRequestSchema } } },
  },
  responses: {
    200: {
      description: "What was erased",
      content: { "application/json": { schema: erasureResultSchema } },
    },
    ...errorResponses(400, 401, 403, 413, 415, 503),
  },
});

export function registerErasuresCreate(app: OpenAPIHono<HonoEnv>): void {
  app.openapi(createErasureRoute, async (c) => {
    const result = await eraseCustomerData(
      c.get("deps").db,
      auditContextOf(c),
      c.get("principal").tenantId,
      c.req.valid("json"),
    );
    return c.json(erasureResultSchema.parse(result), 200);
  });
}
