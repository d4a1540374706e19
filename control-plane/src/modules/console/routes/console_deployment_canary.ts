import type { Hono } from "hono";
import { ChurnError } from "#shared/errors.ts";
import { apply, canaryForm, ids, readForm, requireDeployed } from "../deployment-forms.ts";
import type { ConsoleEnv } from "../env.ts";
import { changing } from "../http.ts";

/** POST /console/deployment/canary. */
export function registerConsoleDeploymentCanary(app: Hono<ConsoleEnv>): void {
  app.post("/deployment/canary", ...changing("deployments:write"), async (c) => {
    const f = await readForm(c, canaryForm);
    return apply(
      c,
      (current) => {
        const d = requireDeployed(current);
        if (d.production.versionId === f.versionId)
          throw new ChurnError("INVALID_REQUEST", "The production version cannot also be its own canary");
        return {
          production: d.production.versionId,
          canary: { versionId: f.versionId, weight: f.weight },
          shadows: ids(d.shadows).filter((id) => id !== f.versionId),
          reason: f.reason,
        };
      },
      f.revision,
      "canary",
    );
  });
}
