import type { Hono } from "hono";
import { publishTenantLimits } from "../../deployments/rate-limits.ts";
import { revokeApiClient } from "../../identity/api-clients.ts";
import { publishRevokedClients } from "../../identity/revocations.ts";
import { clientId } from "../client-forms.ts";
import type { ConsoleEnv } from "../env.ts";
import { auditOf, changing, parseForm } from "../http.ts";

/** POST /console/clients/:id/revoke. */
export function registerConsoleClientsRevoke(app: Hono<ConsoleEnv>): void {
  app.post("/clients/:id/revoke", ...changing("clients:write"), async (c) => {
    const deps = c.get("deps");
    const tenantId = c.get("principal").tenantId;
    const id = parseForm(clientId, c.req.param("id"));
    const { client, changed } = await revokeApiClient(deps.db, auditOf(c), tenantId, id);
    // As the API does: the edge's revocation list is rebuilt and re-sent, even on a repeated revoke.
    await publishRevokedClients(deps.db, deps.edge);
    if (changed && (client.rateLimit || client.monthlyPredictionQuota !== null))
      await publishTenantLimits(deps.db, deps.edge, tenantId);
    return c.redirect("/console/clients?done=revoked", 303);
  });
}
