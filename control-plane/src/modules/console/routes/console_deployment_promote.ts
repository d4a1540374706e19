import type { Hono } from "hono";
import { apply, canaryOf, ids, readForm, versionForm } from "../deployment-forms.ts";
import type { ConsoleEnv } from "../env.ts";
import { changing } from "../http.ts";

/** POST /console/deployment/promote. */
export function registerConsoleDeploymentPromote(app: Hono<ConsoleEnv>): void {
  app.post("/deployment/promote", ...changing("deployments:write"), async (c) => {
    const f = await readForm(c, versionForm);
    return apply(
      c,
      (d) => ({
        production: f.versionId,
        canary: d?.canary && d.canary.versionId !== f.versionId ? canaryOf(d) : null,
        shadows: ids(d?.shadows ?? []).filter((id) => id !== f.versionId),
        reason: f.reason,
      }),
      f.revision,
      "promoted",
    );
  });
}
