import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import { and, asc, eq, gt } from "drizzle-orm";
import { stream } from "hono/streaming";
import { bearerSecurity, errorResponses } from "../../../shared/src/openapi.ts";
import { auditLog } from "../db/schema/index.ts";
import type { HonoEnv } from "../env.ts";
import { authenticate, requirePermission } from "../middleware/auth.ts";
import { toAuditEntry } from "../services/audit-chain.ts";

const PAGE = 1000;

export const auditExportRoute = createRoute({
  method: "get",
  path: "/v1/audit/export",
  summary: "The whole chain as JSON Lines, oldest first, for compliance archives",
  security: bearerSecurity,
  middleware: [authenticate(), requirePermission("audit:read")] as const,
  responses: {
    200: {
      description: "One AuditEntry per line",
      content: { "application/x-ndjson": { schema: z.string() } },
    },
    ...errorResponses(401, 403),
  },
});

export function registerAuditExport(app: OpenAPIHono<HonoEnv>): void {
  app.openapi(auditExportRoute, (c) => {
    const tenantId = c.get("principal").tenantId;
    const db = c.get("deps").db;
    c.header("content-type", "application/x-ndjson");
    c.header("content-disposition", `attachment; filename="audit-${tenantId}.jsonl"`);
    return stream(c, async (out) => {
      let afterSeq = 0;
      for (;;) {
        const rows = await db
          .select()
          .from(auditLog)
          .where(and(eq(auditLog.tenantId, tenantId), gt(auditLog.seq, afterSeq)))
          .orderBy(asc(auditLog.seq))
          .limit(PAGE);
        if (rows.length > 0)
          await out.write(rows.map((r) => `${JSON.stringify(toAuditEntry(r))}\n`).join(""));
        if (rows.length < PAGE) break;
        afterSeq = rows[rows.length - 1]!.seq;
      }
    }) as never;
  });
}
