import type { Hono } from "hono";
import { apply, ids, readForm, requireDeployed, versionForm } from "../deployment-forms.ts";
import type { ConsoleEnv } from "../env.ts";
import { changing } from "../http.ts";

/** POST /console/deployment/canary/end. */
export function registerConsoleDeploymentCanaryEnd(app: Hono<ConsoleEnv>): void {
  app.post("/deployment/canary/end", ...changing("deployments:write"), async (c) => {
    const f = await readForm(c, versionForm);
    return apply(
      c,
      (current) => {
        const d = requireDeployed(current);
        return {
          production: d.production.versionId,
          canary: null,
          shadows: ids(d.shadows),
          reason: f.reason,
        };
      },
      f.revision,
      "canary-ended",
    );
  });
}
