import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import { bearerSecurity, errorResponses } from "#shared/openapi.ts";
import type { HonoEnv } from "../../../platform/env.ts";
import { authenticate, requirePermission } from "../../../platform/middleware/auth.ts";
import { verifyChain } from "../audit-chain.ts";

const verificationSchema = z
  .object({
    ok: z.boolean(),
    entries: z.number().int(),
    firstBad: z.object({ seq: z.number().int(), id: z.string(), reason: z.string() }).optional(),
    headHash: z.string(),
  })
  .meta({ id: "AuditVerification" });

export const auditVerifyRoute = createRoute({
  method: "get",
  path: "/v1/audit/verify",
  summary: "Recompute the tenant's audit hash chain; names the first edited, deleted or reordered entry",
  security: bearerSecurity,
  middleware: [authenticate(), requirePermission("audit:read")] as const,
  responses: {
    200: {
      description: "Verification result",
      content: { "application/json": { schema: verificationSchema } },
    },
    ...errorResponses(401, 403),
  },
});

export function registerAuditVerify(app: OpenAPIHono<HonoEnv>): void {
  app.openapi(auditVerifyRoute, async (c) =>
    c.json(verificationSchema.parse(await verifyChain(c.get("deps").db, c.get("principal").tenantId)), 200),
  );
}
