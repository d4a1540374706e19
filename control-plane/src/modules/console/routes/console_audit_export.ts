import type { Hono } from "hono";
import { stream } from "hono/streaming";
import { auditJsonLines } from "../../audit/audit-chain.ts";
import type { ConsoleEnv } from "../env.ts";
import { viewing } from "../http.ts";

/** The audit log's export link: the same JSON Lines as GET /v1/audit/export, for the session's tenant. */
export function registerConsoleAuditExport(app: Hono<ConsoleEnv>): void {
  app.get("/audit/export", ...viewing("audit:read"), (c) => {
    const tenantId = c.get("principal").tenantId;
    const db = c.get("deps").db;
    c.header("content-type", "application/x-ndjson");
    c.header("content-disposition", `attachment; filename="audit-${tenantId}.jsonl"`);
    return stream(c, async (out) => {
      for await (const chunk of auditJsonLines(db, tenantId)) await out.write(chunk);
    });
  });
}
