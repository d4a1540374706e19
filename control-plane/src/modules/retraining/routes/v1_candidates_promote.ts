import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import { bearerSecurity, errorResponses } from "#shared/openapi.ts";
import { candidateSchema } from "#shared/retraining.ts";
import type { HonoEnv } from "../../../platform/env.ts";
import { idParams } from "../../../platform/http/path-params.ts";
import { authenticate, requirePermission } from "../../../platform/middleware/auth.ts";
import { auditContextOf } from "../../audit/request-audit.ts";
import { approveCandidate } from "../candidates.ts";

export const promoteCandidateRoute = createRoute({
  method: "post",
  path: "/v1/candidates/{id}/promote",
  summary: "Approve a candidate in canary: it becomes production now (manual promotion)",
  security: bearerSecurity,
  middleware: [authenticate(), requirePermission("retraining:write")] as const,
  request: { params: idParams("cnd_0123456789abcdefghij") },
  responses: {
    200: {
      description: "The promoted candidate",
      content: { "application/json": { schema: candidateSchema } },
    },
    ...errorResponses(400, 401, 403, 404, 409, 503),
  },
});

export function registerCandidatesPromote(app: OpenAPIHono<HonoEnv>): void {
  app.openapi(promoteCandidateRoute, async (c) => {
    const deps = c.get("deps");
    const candidate = await approveCandidate(
      deps.db,
      deps.edge,
      auditContextOf(c),
      c.get("principal").tenantId,
      c.req.valid("param").id,
    );
    return c.json(candidateSchema.parse(candidate), 200);
  });
}
