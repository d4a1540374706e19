import type { Hono } from "hono";
import { getVersionReport } from "../../registry/registry.ts";
import { REPORT_CSP, reportHeaders } from "../../registry/routes/v1_models_versions_report.ts";
import type { ConsoleEnv } from "../env.ts";
import { parseForm, viewing } from "../http.ts";
import { versionParams } from "../model-report-params.ts";

/** GET /console/models/:name/versions/:version/report.html. */
export function registerConsoleModelReportBytes(app: Hono<ConsoleEnv>): void {
  app.get("/models/:name/versions/:version/report.html", ...viewing("models:read"), async (c) => {
    const { name, version } = parseForm(versionParams, c.req.param());
    const { report } = await getVersionReport(c.get("deps").db, c.get("principal").tenantId, name, version);
    // Session content: not kept in the browser's cache after sign-out. Only the console may frame it.
    for (const [k, v] of Object.entries(reportHeaders("no-store"))) c.header(k, v);
    c.header("content-security-policy", `${REPORT_CSP}; frame-ancestors 'self'`);
    c.header("x-frame-options", "SAMEORIGIN");
    return c.body(report as Uint8Array<ArrayBuffer>, 200);
  });
}
