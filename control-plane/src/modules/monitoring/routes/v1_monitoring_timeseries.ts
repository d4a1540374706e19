import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import { monitoringTimeseriesSchema } from "#shared/monitoring.ts";
import { bearerSecurity, errorResponses } from "#shared/openapi.ts";
import type { HonoEnv } from "../../../platform/env.ts";
import { authenticate, requirePermission } from "../../../platform/middleware/auth.ts";
import { computeTimeseries } from "../snapshot.ts";

const query = z.object({
  days: z.coerce.number().int().min(1).max(90).default(30).describe("Days back from now"),
  bucket: z.enum(["hour", "day"]).optional().describe("Bucket width; default: hour up to 7 days, day beyond"),
});

export const monitoringTimeseriesRoute = createRoute({
  method: "get",
  path: "/v1/monitoring/timeseries",
  summary: "Hourly or daily traffic, drift and AUC of the live production version, for charts",
  security: bearerSecurity,
  middleware: [authenticate(), requirePermission("monitoring:read")] as const,
  request: { query },
  responses: {
    200: {
      description: "One point per bucket, oldest first",
      content: { "application/json": { schema: monitoringTimeseriesSchema } },
    },
    ...errorResponses(400, 401, 403),
  },
});

export function registerMonitoringTimeseries(app: OpenAPIHono<HonoEnv>): void {
  app.openapi(monitoringTimeseriesRoute, async (c) => {
    const q = c.req.valid("query");
    const series = await computeTimeseries(c.get("deps").db, c.get("principal").tenantId, {
      now: Date.now(),
      days: q.days,
      bucket: q.bucket ?? (q.days <= 7 ? "hour" : "day"),
    });
    return c.json(monitoringTimeseriesSchema.parse(series), 200);
  });
}
