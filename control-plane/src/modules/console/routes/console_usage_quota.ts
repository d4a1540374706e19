import type { Hono } from "hono";
import { tenantQuotaRequestSchema } from "#shared/usage.ts";
import { setTenantQuota } from "../../deployments/rate-limits.ts";
import { quotaOf } from "../client-forms.ts";
import type { ConsoleEnv } from "../env.ts";
import { auditOf, changing, formOf, parseForm } from "../http.ts";

/** POST /console/usage/quota: the tenant's monthly prediction quota, as PUT /v1/settings/quota sets it. */
export function registerConsoleUsageQuota(app: Hono<ConsoleEnv>): void {
  app.post("/usage/quota", ...changing("settings:write"), async (c) => {
    const deps = c.get("deps");
    const body = parseForm(tenantQuotaRequestSchema, { monthlyPredictionQuota: quotaOf(await formOf(c)) });
    await setTenantQuota(
      deps.db,
      deps.edge,
      auditOf(c),
      c.get("principal").tenantId,
      body.monthlyPredictionQuota,
    );
    return c.redirect("/console/usage?done=quota", 303);
  });
}
