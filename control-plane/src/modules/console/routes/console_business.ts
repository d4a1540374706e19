import type { Hono } from "hono";
import { DAY_MS } from "#shared/time.ts";
import { scoredSince } from "../../monitoring/scored.ts";
import { modelsWithVersions } from "../../registry/registry.ts";
import { deploymentOrNull } from "../data.ts";
import type { ConsoleEnv } from "../env.ts";
import { viewing } from "../http.ts";
import { page } from "../layout.ts";
import { snapshotOrNull } from "../monitoring.ts";
import { businessView } from "../views/business.ts";

/** GET /console/business: revenue at risk and the campaign's expected savings. */
export function registerConsoleBusiness(app: Hono<ConsoleEnv>): void {
  app.get("/business", ...viewing("monitoring:read"), async (c) => {
    const { db } = c.get("deps");
    const tenantId = c.get("principal").tenantId;
    const now = Date.now();
    const [deployment, models, week] = await Promise.all([
      deploymentOrNull(db, tenantId),
      modelsWithVersions(db, tenantId, 100),
      scoredSince(db, tenantId, now - 7 * DAY_MS),
    ]);
    // The snapshot feeds the figures beside the live model's profit curve: without a curve, the page is an
    // empty state and the (costly) snapshot is not read.
    const live =
      deployment && models.flatMap((m) => m.versions).find((v) => v.id === deployment.production.versionId);
    const hasCurve = (live?.manifest.decision?.curve.length ?? 0) >= 2;
    const snapshot = hasCurve ? await snapshotOrNull(db, tenantId, now, 24 * 7) : null;
    return c.html(page(c, businessView({ deployment, models, week, snapshot })));
  });
}
