import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import { jwksSchema } from "#shared/oauth.ts";
import type { HonoEnv } from "../../../platform/env.ts";

export const jwksRoute = createRoute({
  method: "get",
  path: "/.well-known/jwks.json",
  summary: "Public keys that verify access tokens",
  responses: { 200: { description: "JWKS", content: { "application/json": { schema: jwksSchema } } } },
});

export function registerJwks(app: OpenAPIHono<HonoEnv>): void {
  app.openapi(jwksRoute, (c) => {
    c.header("cache-control", "public, max-age=300");
    return c.json(jwksSchema.parse(c.get("deps").keys.jwks), 200);
  });
}
