import type { Hono } from "hono";
import { DAY_MS } from "#shared/time.ts";
import { scoreHistogram } from "../../monitoring/scored.ts";
import { modelsWithVersions } from "../../registry/registry.ts";
import { deploymentOrNull } from "../data.ts";
import type { ConsoleEnv } from "../env.ts";
import { viewing } from "../http.ts";
import { page } from "../layout.ts";
import { snapshotOrNull, timeseriesOrNull } from "../monitoring.ts";
import { type MonitoringData, monitoringView } from "../views/monitoring.ts";

/** GET /console/monitoring: drift, data quality and the live score distribution. */
export function registerConsoleMonitoring(app: Hono<ConsoleEnv>): void {
  app.get("/monitoring", ...viewing("monitoring:read"), async (c) => {
    const { db } = c.get("deps");
    const tenantId = c.get("principal").tenantId;
    const now = Date.now();
    const [deployment, models] = await Promise.all([
      deploymentOrNull(db, tenantId),
      modelsWithVersions(db, tenantId, 100),
    ]);
    const data: MonitoringData = { deployment, models, current: null, series: null, liveScores: null };
    if (deployment) {
      const live = models.flatMap((m) => m.versions).find((v) => v.id === deployment.production.versionId);
      const reference = live?.manifest.reference?.score;
      [data.current, data.series, data.liveScores] = await Promise.all([
        snapshotOrNull(db, tenantId, now, 24),
        timeseriesOrNull(db, tenantId, now, 7, "day"),
        reference
          ? scoreHistogram(db, tenantId, deployment.production.versionId, now - DAY_MS, reference.edges)
          : null,
      ]);
    }
    return c.html(page(c, monitoringView(data)));
  });
}
