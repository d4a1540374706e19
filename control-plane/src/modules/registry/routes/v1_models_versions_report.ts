import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import { bearerSecurity, errorResponses } from "#shared/openapi.ts";
import type { HonoEnv } from "../../../platform/env.ts";
import { authenticate, requirePermission } from "../../../platform/middleware/auth.ts";
import { getVersionReport } from "../registry.ts";

/**
 * The stored report runs no script and loads nothing: it is the trainer's self-contained page (an inline
 * stylesheet and inline SVG). `sandbox` also gives it an opaque origin, so even a hand-made report
 * published through the API cannot reach this origin's cookies or APIs.
 */
export const REPORT_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; sandbox";

/** A day: the bytes never change (versions are immutable), but a revoked reader should not keep them long. */
const REPORT_MAX_AGE_SECONDS = 86_400;

/** The headers a stored report is served with, by the API and by the console. */
export function reportHeaders(cacheControl: string): Record<string, string> {
  return {
    "content-type": "text/html; charset=utf-8",
    "content-security-policy": REPORT_CSP,
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "cache-control": cacheControl,
  };
}

export const getReportRoute = createRoute({
  method: "get",
  path: "/v1/models/{name}/versions/{version}/report",
  summary: "The trainer's HTML report stored with a version",
  description:
    "The `report.html` that `churn publish` uploaded with the version, served under a CSP that allows no " +
    "script (`sandbox`). 404 when the version was published without one (`hasReport: false`).",
  security: bearerSecurity,
  middleware: [authenticate(), requirePermission("models:read")] as const,
  request: {
    params: z.object({
      name: z
        .string()
        .max(64)
        .openapi({ param: { name: "name", in: "path" }, example: "churn" }),
      version: z.coerce
        .number()
        .int()
        .positive()
        .openapi({ param: { name: "version", in: "path" }, example: 3 }),
    }),
  },
  responses: {
    200: {
      description: "The report, a self-contained HTML page",
      content: { "text/html": { schema: z.string() } },
    },
    ...errorResponses(400, 401, 403, 404),
  },
});

export function registerModelVersionReport(app: OpenAPIHono<HonoEnv>): void {
  app.openapi(getReportRoute, async (c) => {
    const { name, version } = c.req.valid("param");
    const { report } = await getVersionReport(c.get("deps").db, c.get("principal").tenantId, name, version);
    return c.body(report as Uint8Array<ArrayBuffer>, 200, {
      ...reportHeaders(`private, max-age=${REPORT_MAX_AGE_SECONDS}, immutable`),
      // The same path names another tenant's report for another caller.
      vary: "authorization",
    });
  });
}
