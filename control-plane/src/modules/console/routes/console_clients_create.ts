import type { Hono } from "hono";
import { createClientRequestSchema } from "#shared/identity.ts";
import { publishTenantLimits } from "../../deployments/rate-limits.ts";
import { createApiClient } from "../../identity/api-clients.ts";
import { formInput, secretPage } from "../client-forms.ts";
import type { ConsoleEnv } from "../env.ts";
import { auditOf, changing, formOf, parseForm } from "../http.ts";

/** POST /console/clients. */
export function registerConsoleClientsCreate(app: Hono<ConsoleEnv>): void {
  app.post("/clients", ...changing("clients:write"), async (c) => {
    const deps = c.get("deps");
    const tenantId = c.get("principal").tenantId;
    const input = formInput(await formOf(c));
    const body = parseForm(createClientRequestSchema, {
      ...input,
      rateLimit: input.rateLimit ?? undefined,
      monthlyPredictionQuota: input.monthlyPredictionQuota ?? undefined,
    });
    const created = await createApiClient(deps.db, auditOf(c), { tenantId, ...body });
    if (body.rateLimit || body.monthlyPredictionQuota !== undefined)
      await publishTenantLimits(deps.db, deps.edge, tenantId);
    return secretPage(c, {
      clientId: created.client.id,
      clientName: created.client.name,
      secret: created.clientSecret,
      rotated: false,
    });
  });
}
