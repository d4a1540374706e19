import type { Hono } from "hono";
import { z } from "zod";
import { getVersionReport } from "../../registry/registry.ts";
import { REPORT_CSP, reportHeaders } from "../../registry/routes/v1_models_versions_report.ts";
import type { ConsoleEnv } from "../env.ts";
import { parseForm, viewing } from "../http.ts";
import { modelReportPage } from "../pages/model-report.ts";

const versionParams = z.object({
  name: z.string().regex(/^[a-z0-9][a-z0-9-]{0,63}$/, "not a model name"),
  version: z.coerce.number().int().positive().max(1_000_000_000),
});

/**
 * A version's report in the console: a page that frames it, and the bytes themselves, read through the
 * API's service with the API's permission (models:read) for the session's tenant.
 */
export function registerConsoleModelReport(app: Hono<ConsoleEnv>): void {
  app.get("/models/:name/versions/:version/report", ...viewing("models:read"), async (c) => {
    const { name, version } = parseForm(versionParams, c.req.param());
    // Checked here too, so a version without a report answers 404 with the API's message, not an empty frame.
    await getVersionReport(c.get("deps").db, c.get("principal").tenantId, name, version);
    return c.html(await modelReportPage(c, name, version));
  });

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
