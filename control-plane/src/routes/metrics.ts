import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import type { HonoEnv } from "../env.ts";
import { EXPOSITION_CONTENT_TYPE } from "../observability/prometheus.ts";

export const metricsRoute = createRoute({
  method: "get",
  path: "/metrics",
  summary: "Prometheus metrics (text exposition format 0.0.4)",
  description:
    "Requests and latency by method, route pattern and status class; tokens issued; registry sizes; event " +
    "ingest; drift, quality, performance and traffic gauges by tenant id (at most 100 tenants). " +
    "Unauthenticated, like /v1/health: it names no user and no secret.",
  responses: {
    200: { description: "Exposition", content: { "text/plain": { schema: z.string() } } },
  },
});

export function registerMetrics(app: OpenAPIHono<HonoEnv>): void {
  app.openapi(metricsRoute, async (c) => {
    const text = await c.get("metrics").render(c.get("deps").db);
    c.header("cache-control", "no-store");
    return c.text(text, 200, { "content-type": EXPOSITION_CONTENT_TYPE });
  });
}
