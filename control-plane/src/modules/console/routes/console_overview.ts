import type { Hono } from "hono";
import { DAY_MS } from "#shared/time.ts";
import { listDeploymentHistory } from "../../deployments/deployment-history.ts";
import { edgeStatus } from "../../deployments/edge-confirmation.ts";
import { isAllowed } from "../../identity/permissions.ts";
import { scoredSince, trafficByHour } from "../../monitoring/scored.ts";
import { modelsWithVersions } from "../../registry/registry.ts";
import { deploymentOrNull } from "../data.ts";
import type { ConsoleEnv } from "../env.ts";
import { viewing } from "../http.ts";
import { page } from "../layout.ts";
import { snapshotOrNull } from "../monitoring.ts";
import { type OverviewData, overviewView } from "../views/overview.ts";

/** GET /console/overview: the live deployment, its traffic and health. */
export function registerConsoleOverview(app: Hono<ConsoleEnv>): void {
  app.get("/overview", ...viewing("deployments:read"), async (c) => {
    const { db, edge, caches } = c.get("deps");
    const principal = c.get("principal");
    const tenantId = principal.tenantId;
    const now = Date.now();
    const [deployment, models, traffic, week] = await Promise.all([
      deploymentOrNull(db, tenantId),
      modelsWithVersions(db, tenantId, 100),
      trafficByHour(db, tenantId, now, 24),
      scoredSince(db, tenantId, now - 7 * DAY_MS),
    ]);
    let live: OverviewData["live"] = null;
    if (deployment) {
      const [status, history, snapshot] = await Promise.all([
        edgeStatus(edge, caches.edgeConfirmations, tenantId, deployment.revision),
        listDeploymentHistory(db, tenantId, { limit: 5 }),
        isAllowed(principal, "monitoring:read") ? snapshotOrNull(db, tenantId, now) : null,
      ]);
      live = { edge: status, history, snapshot };
    }
    const view = overviewView({ userId: c.get("consoleUser").id, deployment, models, traffic, week, live });
    return c.html(page(c, view));
  });
}
