import type { Hono } from "hono";
import { rollbackDeployment } from "../../deployments/deployments.ts";
import { readForm, rollbackForm } from "../deployment-forms.ts";
import type { ConsoleEnv } from "../env.ts";
import { auditOf, changing } from "../http.ts";

/** POST /console/deployment/rollback. */
export function registerConsoleDeploymentRollback(app: Hono<ConsoleEnv>): void {
  app.post("/deployment/rollback", ...changing("deployments:write"), async (c) => {
    const f = await readForm(c, rollbackForm);
    const deps = c.get("deps");
    await rollbackDeployment(
      deps.db,
      deps.edge,
      auditOf(c),
      c.get("principal").tenantId,
      f.reason,
      f.revision,
    );
    return c.redirect("/console/models?done=rolled-back", 303);
  });
}
