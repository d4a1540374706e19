import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import { healthResponseSchema } from "#shared/predict.ts";
import type { HonoEnv } from "../env.ts";

export const healthRoute = createRoute({
  method: "get",
  path: "/v1/health",
  summary: "Liveness",
  responses: {
    200: { description: "Alive", content: { "application/json": { schema: healthResponseSchema } } },
  },
});

export function registerHealth(app: OpenAPIHono<HonoEnv>, version: string): void {
  app.openapi(healthRoute, (c) => c.json({ status: "ok" as const, service: "control-plane", version }, 200));
}
