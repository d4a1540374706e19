import { and, asc, eq, gt } from "drizzle-orm";
import type { Hono } from "hono";
import { stream } from "hono/streaming";
import type { ConsoleEnv } from "../console/env.ts";
import { viewing } from "../console/http.ts";
import { auditLog } from "../db/schema/index.ts";
import { toAuditEntry } from "../services/audit-chain.ts";

const PAGE = 1000;

/** The audit log's export link: the same JSON Lines as GET /v1/audit/export, for the session's tenant. */
export function registerConsoleAuditExport(app: Hono<ConsoleEnv>): void {
  app.get("/audit/export", ...viewing("audit:read"), (c) => {
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
    });
  });
}
