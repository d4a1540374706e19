import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import { monitoringSnapshotSchema } from "#shared/monitoring.ts";
import { bearerSecurity, errorResponses } from "#shared/openapi.ts";
import type { HonoEnv } from "../../../platform/env.ts";
import { authenticate, requirePermission } from "../../../platform/middleware/auth.ts";
import { computeSnapshot } from "../snapshot.ts";

const query = z.object({
  windowHours: z.coerce
    .number()
    .int()
    .min(1)
    .max(24 * 90)
    .optional()
    .describe(
      "Hours of traffic to evaluate, the current hour included; default: the tenant's drift.windowHours",
    ),
});

export const monitoringSnapshotRoute = createRoute({
  method: "get",
  path: "/v1/monitoring/snapshot",
  summary: "Drift, data quality, performance and business figures of the live production version",
  description:
    "Computed from hourly aggregates against the version's training reference. Before the first " +
    "deployment every figure is empty (versionId null, drift quiet).",
  security: bearerSecurity,
  middleware: [authenticate(), requirePermission("monitoring:read")] as const,
  request: { query },
  responses: {
    200: {
      description: "The snapshot",
      content: { "application/json": { schema: monitoringSnapshotSchema } },
    },
    ...errorResponses(400, 401, 403),
  },
});

export function registerMonitoringSnapshot(app: OpenAPIHono<HonoEnv>): void {
  app.openapi(monitoringSnapshotRoute, async (c) => {
    const { windowHours } = c.req.valid("query");
    const snapshot = await computeSnapshot(c.get("deps").db, c.get("principal").tenantId, {
      now: Date.now(),
      ...(windowHours !== undefined ? { windowHours } : {}),
    });
    return c.json(monitoringSnapshotSchema.parse(snapshot), 200);
  });
}
