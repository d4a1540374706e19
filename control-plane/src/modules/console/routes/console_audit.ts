import type { Hono } from "hono";
import { z } from "zod";
import { auditActionSchema } from "#shared/audit.ts";
import { auditPage } from "../../audit/audit-chain.ts";
import { verifyTenantChain } from "../../audit/checkpoints.ts";
import { listUsers } from "../../identity/users.ts";
import type { ConsoleEnv } from "../env.ts";
import { parseForm, viewing } from "../http.ts";
import { page } from "../layout.ts";
import { AUDIT_PAGE_SIZE, auditView } from "../views/audit.ts";

const day = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, "use YYYY-MM-DD")
  .optional()
  .or(z.literal("").transform(() => undefined));

const auditQuery = z.object({
  action: auditActionSchema.optional().or(z.literal("").transform(() => undefined)),
  actorId: z
    .string()
    .trim()
    .max(64)
    .optional()
    .transform((v) => (v ? v : undefined)),
  since: day,
  until: day,
  cursor: z.coerce.number().int().positive().optional(),
});

const dayStart = (d: string | undefined) => (d ? Date.parse(`${d}T00:00:00Z`) : undefined);
const dayEnd = (d: string | undefined) => (d ? Date.parse(`${d}T23:59:59.999Z`) : undefined);

/** GET /console/audit: the tenant's audit log with filters, and whether its chain verifies. */
export function registerConsoleAudit(app: Hono<ConsoleEnv>): void {
  app.get("/audit", ...viewing("audit:read"), async (c) => {
    const query = parseForm(auditQuery, c.req.query());
    const { db, edge } = c.get("deps");
    const tenantId = c.get("principal").tenantId;
    const [result, chain, people] = await Promise.all([
      auditPage(db, tenantId, {
        action: query.action,
        actorId: query.actorId,
        since: dayStart(query.since),
        until: dayEnd(query.until),
        cursor: query.cursor,
        limit: AUDIT_PAGE_SIZE,
      }),
      verifyTenantChain(db, edge, tenantId),
      listUsers(db, tenantId),
    ]);
    return c.html(page(c, auditView({ query, page: result, chain, people })));
  });
}
