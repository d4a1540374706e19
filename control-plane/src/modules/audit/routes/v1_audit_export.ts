import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import { stream } from "hono/streaming";
import { bearerSecurity, errorResponses } from "#shared/openapi.ts";
import type { HonoEnv } from "../../../platform/env.ts";
import { authenticate, requirePermission } from "../../../platform/middleware/auth.ts";
import { auditJsonLines } from "../audit-chain.ts";

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
      for await (const chunk of auditJsonLines(db, tenantId)) await out.write(chunk);
    }) as never;
  });
}
