import type { Hono } from "hono";
import { apply, canaryOf, ids, readForm, requireDeployed, versionForm } from "../deployment-forms.ts";
import type { ConsoleEnv } from "../env.ts";
import { changing } from "../http.ts";

/** POST /console/deployment/shadow/remove. */
export function registerConsoleDeploymentShadowRemove(app: Hono<ConsoleEnv>): void {
  app.post("/deployment/shadow/remove", ...changing("deployments:write"), async (c) => {
    const f = await readForm(c, versionForm);
    return apply(
      c,
      (current) => {
        const d = requireDeployed(current);
        return {
          production: d.production.versionId,
          canary: canaryOf(d),
          shadows: ids(d.shadows).filter((id) => id !== f.versionId),
          reason: f.reason,
        };
      },
      f.revision,
      "shadow-removed",
    );
  });
}
