import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import { and, desc, eq, gte, lt, lte, type SQL } from "drizzle-orm";
import { auditActionSchema, auditEntrySchema } from "#shared/audit.ts";
import { bearerSecurity, errorResponses } from "#shared/openapi.ts";
import { auditLog } from "../../../platform/db/schema/index.ts";
import type { HonoEnv } from "../../../platform/env.ts";
import { authenticate, requirePermission } from "../../../platform/middleware/auth.ts";
import { toAuditEntry } from "../audit-chain.ts";

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
    const conditions: SQL[] = [eq(auditLog.tenantId, c.get("principal").tenantId)];
    if (q.action) conditions.push(eq(auditLog.action, q.action));
    if (q.actorId) conditions.push(eq(auditLog.actorId, q.actorId));
    if (q.since) conditions.push(gte(auditLog.createdAt, Date.parse(q.since)));
    if (q.until) conditions.push(lte(auditLog.createdAt, Date.parse(q.until)));
    if (q.cursor) conditions.push(lt(auditLog.seq, q.cursor));
    const rows = await c
      .get("deps")
      .db.select()
      .from(auditLog)
      .where(and(...conditions))
      .orderBy(desc(auditLog.seq))
      .limit(q.limit + 1);
    const page = rows.slice(0, q.limit);
    const nextCursor = rows.length > q.limit ? page[page.length - 1]!.seq : null;
    return c.json(pageSchema.parse({ entries: page.map(toAuditEntry), nextCursor }), 200);
  });
}
