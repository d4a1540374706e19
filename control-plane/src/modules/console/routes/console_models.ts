import type { Hono } from "hono";
import { isAllowed } from "../../identity/permissions.ts";
import { modelsWithVersions } from "../../registry/registry.ts";
import { deploymentOrNull } from "../data.ts";
import type { ConsoleEnv } from "../env.ts";
import { doneFlash, viewing } from "../http.ts";
import { page } from "../layout.ts";
import { modelsView } from "../views/models.ts";

/** GET /console/models: the registry's versions, with deployment actions for those allowed. */
export function registerConsoleModels(app: Hono<ConsoleEnv>): void {
  app.get("/models", ...viewing("models:read"), async (c) => {
    const { db } = c.get("deps");
    const principal = c.get("principal");
    const [models, deployment] = await Promise.all([
      modelsWithVersions(db, principal.tenantId),
      deploymentOrNull(db, principal.tenantId),
    ]);
    const view = modelsView({
      models,
      deployment,
      canWrite: isAllowed(principal, "deployments:write"),
      csrfToken: c.get("consoleUser").csrfToken,
      selected: { model: c.req.query("model"), a: c.req.query("a"), b: c.req.query("b") },
      flash: doneFlash(c.req.query("done")),
    });
    return c.html(page(c, view));
  });
}
