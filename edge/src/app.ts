import { OpenAPIHono } from "@hono/zod-openapi";
import { ChurnError, issuesFromZod, validationError } from "#shared/errors.ts";
import { renderError } from "#shared/http-errors.ts";
import { kvKeys } from "#shared/kv.ts";
import pkg from "../../package.json" with { type: "json" };
import type { HonoEnv } from "./env.ts";
import { type KeyResolver, kvKeyResolver } from "./middleware/auth.ts";
import { requestContext } from "./middleware/request-context.ts";
import { registerFeedback } from "./routes/v1_feedback.ts";
import { registerHealth } from "./routes/v1_health.ts";
import { registerModelsLive } from "./routes/v1_models_live.ts";
import { registerPredict } from "./routes/v1_predict.ts";

/** The release, from package.json: one version for the whole platform. */
export const EDGE_VERSION: string = pkg.version;

export interface EdgeAppOptions {
  /** Token verification keys; the worker reads them from KV, tests may inject a local JWKS. */
  resolver?: KeyResolver;
}

/** Builds the edge app. worker.ts only checks the environment and hands requests to it. */
export function createEdgeApp(options: EdgeAppOptions = {}): OpenAPIHono<HonoEnv> {
  const resolver = options.resolver ?? kvKeyResolver(kvKeys.jwks());
  const app = new OpenAPIHono<HonoEnv>({
    defaultHook: (result) => {
      if (!result.success) throw validationError(issuesFromZod(result.error));
    },
  });
  app.use("*", requestContext());
  app.onError((err, c) =>
    renderError(c, err, c.get("requestId") ?? "unknown", (e) => console.error(JSON.stringify(e))),
  );
  app.notFound((c) =>
    renderError(
      c,
      new ChurnError("NOT_FOUND", `No route for ${c.req.method} ${c.req.path}`),
      c.get("requestId"),
      () => {},
    ),
  );

  registerHealth(app, EDGE_VERSION);
  registerPredict(app, resolver);
  registerFeedback(app, resolver);
  registerModelsLive(app, resolver);

  app.openAPIRegistry.registerComponent("securitySchemes", "bearerAuth", {
    type: "http",
    scheme: "bearer",
    bearerFormat: "JWT",
    description: "An access token from the control plane's /v1/oauth/token",
  });
  app.doc31("/v1/openapi.json", { openapi: "3.1.0", info: { title: "Churn edge", version: EDGE_VERSION } });
  return app;
}
