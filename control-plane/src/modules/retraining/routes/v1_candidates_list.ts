import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import { bearerSecurity, errorResponses } from "#shared/openapi.ts";
import { candidateListSchema } from "#shared/retraining.ts";
import type { HonoEnv } from "../../../platform/env.ts";
import { authenticate, requirePermission } from "../../../platform/middleware/auth.ts";
import { listCandidates } from "../candidates.ts";

export const listCandidatesRoute = createRoute({
  method: "get",
  path: "/v1/candidates",
  summary: "Retrained candidates with the gate's verdict and their canary state, newest first",
  security: bearerSecurity,
  middleware: [authenticate(), requirePermission("monitoring:read")] as const,
  request: { query: z.object({ limit: z.coerce.number().int().min(1).max(200).default(50) }) },
  responses: {
    200: { description: "Candidates", content: { "application/json": { schema: candidateListSchema } } },
    ...errorResponses(400, 401, 403),
  },
});

export function registerCandidatesList(app: OpenAPIHono<HonoEnv>): void {
  app.openapi(listCandidatesRoute, async (c) => {
    const candidates = await listCandidates(
      c.get("deps").db,
      c.get("principal").tenantId,
      c.req.valid("query").limit,
    );
    return c.json(candidateListSchema.parse({ candidates }), 200);
  });
}
