import type { Hono } from "hono";
import { z } from "zod";
import { auditActionSchema } from "#shared/audit.ts";
import type { ConsoleEnv } from "../env.ts";
import { parseForm, viewing } from "../http.ts";
import { homeFor } from "../layout.ts";
import { auditLogPage } from "../pages/audit.ts";
import { businessPage } from "../pages/business.ts";
import { clientsPage } from "../pages/clients.ts";
import { modelsPage } from "../pages/models.ts";
import { monitoringPage } from "../pages/monitoring.ts";
import { overviewPage } from "../pages/overview.ts";
import { consoleSession } from "../session.ts";

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

/** Done-messages after an action; fixed texts chosen by key, never echoed from the URL. */
const DONE: Record<string, string> = {
  promoted: "Promoted: the version now serves production.",
  canary: "Canary updated.",
  "canary-ended": "Canary ended: all traffic goes to production.",
  "shadow-added": "Shadow added.",
  "shadow-removed": "Shadow removed.",
  "rolled-back": "Rolled back to the previous production version.",
  updated: "Client updated.",
  revoked: "Client revoked: its secret and tokens are refused.",
};

export const doneFlash = (key: string | undefined) =>
  key && DONE[key] ? { kind: "ok" as const, text: DONE[key] } : undefined;

/** The console's pages; each checks the same permission as the API it reads. */
export function registerConsolePages(app: Hono<ConsoleEnv>): void {
  app.get("/", consoleSession(), (c) => c.redirect(homeFor(c.get("principal")), 303));
  app.get("/overview", ...viewing("deployments:read"), async (c) => c.html(await overviewPage(c)));
  app.get("/business", ...viewing("monitoring:read"), async (c) => c.html(await businessPage(c)));
  app.get("/models", ...viewing("models:read"), async (c) =>
    c.html(await modelsPage(c, doneFlash(c.req.query("done")))),
  );
  app.get("/monitoring", ...viewing("monitoring:read"), async (c) => c.html(await monitoringPage(c)));
  app.get("/audit", ...viewing("audit:read"), async (c) =>
    c.html(await auditLogPage(c, parseForm(auditQuery, c.req.query()))),
  );
  app.get("/clients", ...viewing("clients:read"), async (c) =>
    c.html(await clientsPage(c, { flash: doneFlash(c.req.query("done")) })),
  );
}
