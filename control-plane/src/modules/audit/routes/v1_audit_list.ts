import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import { auditActionSchema, auditEntrySchema } from "#shared/audit.ts";
import { bearerSecurity, errorResponses } from "#shared/openapi.ts";
import type { HonoEnv } from "../../../platform/env.ts";
import { authenticate, requirePermission } from "../../../platform/middleware/auth.ts";
import { auditPage } from "../audit-chain.ts";

const query = z.object({
  action: auditActionSchema.optional(),
  actorId: z.string().max(64).optional(),
  since: z.iso.datetime({ offset: true }).optional(),
  until: z.iso.datetime({ offset: true }).optional(),
  cursor: z.coerce.number().int().positive().optional().describe("nextCursor from the previous page"),
  limit: z.coerce.number().int().min(1).max(500).default(50),
});

const pageSchema = z
  .object({ entries: z.array(auditEntrySchema), nextCursor: z.number().int().nullable() })
  .meta({ id: "AuditPage" });

export const auditListRoute = createRoute({
  method: "get",
  path: "/v1/audit",
  summary: "The tenant's audit log, newest first, with filters and cursor pagination",
  security: bearerSecurity,
  middleware: [authenticate(), requirePermission("audit:read")] as const,
  request: { query },
  responses: {
    200: { description: "A page of entries", content: { "application/json": { schema: pageSchema } } },
    ...errorResponses(400, 401, 403),
  },
});

export function registerAuditList(app: OpenAPIHono<HonoEnv>): void {
  app.openapi(auditListRoute, async (c) => {
    const q = c.req.valid("query");
    const page = await auditPage(c.get("deps").db, c.get("principal").tenantId, {
      action: q.action,
      actorId: q.actorId,
      since: q.since === undefined ? undefined : Date.parse(q.since),
      until: q.until === undefined ? undefined : Date.parse(q.until),
      cursor: q.cursor,
      limit: q.limit,
    });
    return c.json(pageSchema.parse(page), 200);
  });
}
