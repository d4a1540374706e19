import type { Hono } from "hono";
import { getVersionReport } from "../../registry/registry.ts";
import type { ConsoleEnv } from "../env.ts";
import { parseForm, viewing } from "../http.ts";
import { page } from "../layout.ts";
import { versionParams } from "../model-report-params.ts";
import { modelReportView } from "../views/model-report.ts";

/** GET /console/models/:name/versions/:version/report. */
export function registerConsoleModelReportPage(app: Hono<ConsoleEnv>): void {
  app.get("/models/:name/versions/:version/report", ...viewing("models:read"), async (c) => {
    const { name, version } = parseForm(versionParams, c.req.param());
    // Checked here too, so a version without a report answers 404 with the API's message, not an empty frame.
    await getVersionReport(c.get("deps").db, c.get("principal").tenantId, name, version);
    return c.html(page(c, modelReportView(name, version)));
  });
}
