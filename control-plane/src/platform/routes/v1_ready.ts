import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import { ChurnError } from "#shared/errors.ts";
import { errorResponses } from "#shared/openapi.ts";
import { healthResponseSchema } from "#shared/predict.ts";
import { ping } from "../db/client.ts";
import type { HonoEnv } from "../env.ts";

export const readyRoute = createRoute({
  method: "get",
  path: "/v1/ready",
  summary: "Readiness: the database answers",
  responses: {
    200: { description: "Ready", content: { "application/json": { schema: healthResponseSchema } } },
    ...errorResponses(503),
  },
});

export function registerReady(app: OpenAPIHono<HonoEnv>, version: string): void {
  app.openapi(readyRoute, async (c) => {
    try {
      await ping(c.get("deps").db);
    } catch (err) {
      throw new ChurnError("UNAVAILABLE", "The database is not answering", { cause: err });
    }
    return c.json({ status: "ok" as const, service: "control-plane", version }, 200);
  });
}
