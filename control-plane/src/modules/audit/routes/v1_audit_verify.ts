import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import { auditVerificationSchema } from "#shared/audit.ts";
import { bearerSecurity, errorResponses } from "#shared/openapi.ts";
import type { HonoEnv } from "../../../platform/env.ts";
import { authenticate, requirePermission } from "../../../platform/middleware/auth.ts";
import { verifyTenantChain } from "../checkpoints.ts";

export const auditVerifyRoute = createRoute({
  method: "get",
  path: "/v1/audit/verify",
  summary:
    "Recompute the tenant's keyed audit chain and hold it to its latest signed checkpoint; names the first edited, rewritten or missing entry",
  security: bearerSecurity,
  middleware: [authenticate(), requirePermission("audit:read")] as const,
  responses: {
    200: {
      description: "Verification result, with the checkpoint it was compared with",
      content: { "application/json": { schema: auditVerificationSchema } },
    },
    ...errorResponses(401, 403),
  },
});

export function registerAuditVerify(app: OpenAPIHono<HonoEnv>): void {
  app.openapi(auditVerifyRoute, async (c) => {
    const { db, edge } = c.get("deps");
    const result = await verifyTenantChain(db, edge, c.get("principal").tenantId);
    return c.json(auditVerificationSchema.parse(result), 200);
  });
}
