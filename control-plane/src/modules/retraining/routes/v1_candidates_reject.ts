import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import { limitBody } from "#shared/content-type.ts";
import { bearerSecurity, errorResponses } from "#shared/openapi.ts";
import { candidateSchema, retrainingRequestSchema } from "#shared/retraining.ts";
import type { HonoEnv } from "../../../platform/env.ts";
import { ADMIN_JSON_MAX_BYTES } from "../../../platform/http/body-limits.ts";
import { idParams } from "../../../platform/http/path-params.ts";
import { authenticate, requirePermission } from "../../../platform/middleware/auth.ts";
import { auditContextOf } from "../../audit/request-audit.ts";
import { rejectCandidate } from "../candidates.ts";

export const rejectCandidateRoute = createRoute({
  method: "post",
  path: "/v1/candidates/{id}/reject",
  summary: "Take a candidate out of canary; production stays as it is",
  security: bearerSecurity,
  middleware: [
    authenticate(),
    requirePermission("retraining:write"),
    limitBody(ADMIN_JSON_MAX_BYTES),
  ] as const,
  request: {
    params: idParams("cnd_0123456789abcdefghij"),
    body: { required: false, content: { "application/json": { schema: retrainingRequestSchema } } },
  },
  responses: {
    200: {
      description: "The rejected candidate",
      content: { "application/json": { schema: candidateSchema } },
    },
    ...errorResponses(400, 401, 403, 404, 409, 413, 415, 503),
  },
});

export function registerCandidatesReject(app: OpenAPIHono<HonoEnv>): void {
  app.openapi(rejectCandidateRoute, async (c) => {
    const deps = c.get("deps");
    const { reason } = retrainingRequestSchema.parse(c.req.valid("json") ?? {});
    const candidate = await rejectCandidate(
      deps.db,
      deps.edge,
      auditContextOf(c),
      c.get("principal").tenantId,
      c.req.valid("param").id,
      reason,
    );
    return c.json(candidateSchema.parse(candidate), 200);
  });
}
