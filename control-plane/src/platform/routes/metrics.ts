import { timingSafeEqual } from "node:crypto";
import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import { ChurnError } from "#shared/errors.ts";
import { errorResponses } from "#shared/openapi.ts";
import type { HonoEnv } from "../env.ts";
import { EXPOSITION_CONTENT_TYPE } from "../observability/prometheus.ts";

export const metricsRoute = createRoute({
  method: "get",
  path: "/metrics",
  summary: "Prometheus metrics (text exposition format 0.0.4)",
  description:
    "Requests and latency by method, route pattern and status class; tokens issued; registry sizes; event " +
    "ingest. With METRICS_TOKEN configured, it requires `Authorization: Bearer <METRICS_TOKEN>` and adds " +
    "drift, quality, performance, traffic and monthly-quota gauges by tenant id (at most 100 tenants); " +
    "without it, it is " +
    "open like /v1/health and carries platform totals only, naming no tenant, user or secret.",
  responses: {
    200: { description: "Exposition", content: { "text/plain": { schema: z.string() } } },
    ...errorResponses(401),
  },
});

export function registerMetrics(app: OpenAPIHono<HonoEnv>): void {
  app.openapi(metricsRoute, async (c) => {
    const deps = c.get("deps");
    const token = deps.config.METRICS_TOKEN;
    if (token !== undefined && !bearerMatches(c.req.header("authorization"), token)) {
      throw new ChurnError("UNAUTHORIZED", "This /metrics requires the metrics bearer token", {
        headers: { "www-authenticate": 'Bearer realm="metrics"' },
      });
    }
    const text = await c.get("metrics").render(deps.db, deps.edge, { tenantSeries: token !== undefined });
    c.header("cache-control", "no-store");
    return c.text(text, 200, { "content-type": EXPOSITION_CONTENT_TYPE });
  });
}

/** Constant-time comparison of the presented bearer token with the configured one. */
function bearerMatches(header: string | undefined, token: string): boolean {
  const presented = /^Bearer\s+(\S+)$/i.exec(header ?? "")?.[1];
  if (presented === undefined) return false;
  const a = Buffer.from(presented);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}
