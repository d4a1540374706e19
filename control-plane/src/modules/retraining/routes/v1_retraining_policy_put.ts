import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import { jsonBody } from "#shared/content-type.ts";
import { bearerSecurity, errorResponses } from "#shared/openapi.ts";
import { retrainingPolicyResponseSchema, retrainingPolicySchema } from "#shared/retraining.ts";
import type { HonoEnv } from "../../../platform/env.ts";
import { ADMIN_JSON_MAX_BYTES } from "../../../platform/http/body-limits.ts";
import { authenticate, requirePermission } from "../../../platform/middleware/auth.ts";
import { auditContextOf } from "../../audit/request-audit.ts";
import { putRetrainingPolicy } from "../policy.ts";

export const putRetrainingPolicyRoute = createRoute({
  method: "put",
  path: "/v1/retraining/policy",
  summary:
    "Set when to retrain (on alert, every N hours, or manually), on what data, and how to judge the result",
  description:
    "Omitted fields take their defaults. `dataSource` is read by `churn worker`, not by the control plane. " +
    "The gate compares the candidate with production on one holdout (`gate.metric`, `gate.margin`); a " +
    "candidate that passes goes to canary at `canaryWeight` and is promoted per `promotion`.",
  security: bearerSecurity,
  middleware: [
    authenticate(),
    requirePermission("monitoring:write"),
    ...jsonBody(ADMIN_JSON_MAX_BYTES),
  ] as const,
  request: { body: { required: true, content: { "application/json": { schema: retrainingPolicySchema } } } },
  responses: {
    200: {
      description: "Retraining policy",
      content: { "application/json": { schema: retrainingPolicyResponseSchema } },
    },
    ...errorResponses(400, 401, 403, 413, 415),
  },
});

export function registerRetrainingPolicyPut(app: OpenAPIHono<HonoEnv>): void {
  app.openapi(putRetrainingPolicyRoute, async (c) => {
    const saved = await putRetrainingPolicy(
      c.get("deps").db,
      auditContextOf(c),
      c.get("principal").tenantId,
      c.req.valid("json"),
    );
    return c.json(retrainingPolicyResponseSchema.parse(saved), 200);
  });
}
