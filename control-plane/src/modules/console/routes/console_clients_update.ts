import type { Hono } from "hono";
import { updateClientRequestSchema } from "#shared/identity.ts";
import { publishTenantLimits } from "../../deployments/rate-limits.ts";
import { updateApiClient } from "../../identity/api-clients.ts";
import { clientId, formInput } from "../client-forms.ts";
import type { ConsoleEnv } from "../env.ts";
import { auditOf, changing, formOf, parseForm } from "../http.ts";

/** POST /console/clients/:id. */
export function registerConsoleClientsUpdate(app: Hono<ConsoleEnv>): void {
  app.post("/clients/:id", ...changing("clients:write"), async (c) => {
    const deps = c.get("deps");
    const tenantId = c.get("principal").tenantId;
    const id = parseForm(clientId, c.req.param("id"));
    const patch = parseForm(updateClientRequestSchema, formInput(await formOf(c)));
    const { limitsChanged } = await updateApiClient(deps.db, auditOf(c), tenantId, id, patch);
    if (limitsChanged) await publishTenantLimits(deps.db, deps.edge, tenantId);
    return c.redirect("/console/clients?done=updated", 303);
  });
}
