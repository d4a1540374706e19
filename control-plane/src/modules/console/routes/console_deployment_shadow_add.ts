import type { Hono } from "hono";
import { ChurnError } from "#shared/errors.ts";
import { apply, canaryOf, ids, readForm, requireDeployed, versionForm } from "../deployment-forms.ts";
import type { ConsoleEnv } from "../env.ts";
import { changing } from "../http.ts";

/** POST /console/deployment/shadow/add. */
export function registerConsoleDeploymentShadowAdd(app: Hono<ConsoleEnv>): void {
  app.post("/deployment/shadow/add", ...changing("deployments:write"), async (c) => {
    const f = await readForm(c, versionForm);
    return apply(
      c,
      (current) => {
        const d = requireDeployed(current);
        if (d.production.versionId === f.versionId || d.canary?.versionId === f.versionId)
          throw new ChurnError(
            "INVALID_REQUEST",
            "A version already serving traffic cannot also be a shadow",
          );
        return {
          production: d.production.versionId,
          canary: canaryOf(d),
          shadows: [...new Set([...ids(d.shadows), f.versionId])],
          reason: f.reason,
        };
      },
      f.revision,
      "shadow-added",
    );
  });
}
