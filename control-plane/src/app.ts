import { OpenAPIHono } from "@hono/zod-openapi";
import { issuesFromZod, validationError } from "../../shared/src/errors.ts";
import type { Deps, HonoEnv } from "./env.ts";
import { notFound, onError } from "./middleware/errors.ts";
import { requestContext } from "./middleware/request-context.ts";
import { registerAuditExport } from "./routes/v1_audit_export.ts";
import { registerAuditList } from "./routes/v1_audit_list.ts";
import { registerAuditVerify } from "./routes/v1_audit_verify.ts";
import { registerDeploymentGet } from "./routes/v1_deployment_get.ts";
import { registerDeploymentPut } from "./routes/v1_deployment_put.ts";
import { registerHealth } from "./routes/v1_health.ts";
import { registerIngestEvents } from "./routes/v1_ingest_events.ts";
import { registerModelVersionsCreate } from "./routes/v1_models_versions_create.ts";
import { registerModelVersionsList } from "./routes/v1_models_versions_list.ts";
import { registerOauthToken } from "./routes/v1_oauth_token.ts";
import { registerJwks } from "./routes/well_known_jwks.ts";
import { SERVICE_VERSION } from "./version.ts";

/** Builds the control-plane app. server.ts and the tests only wire dependencies into it. */
export function createApp(deps: Deps): OpenAPIHono<HonoEnv> {
  const app = new OpenAPIHono<HonoEnv>({
    defaultHook: (result) => {
      if (!result.success)
        throw validationError(issuesFromZod(result.error, result.target === "json" ? "" : result.target));
    },
  });
  app.use("*", requestContext(deps));
  app.onError(onError);
  app.notFound(notFound);

  registerHealth(app, SERVICE_VERSION);
  registerJwks(app);
  registerOauthToken(app);
  registerModelVersionsCreate(app, deps.config.MAX_MODEL_BYTES);
  registerModelVersionsList(app);
  registerDeploymentGet(app);
  registerDeploymentPut(app);
  registerIngestEvents(app);
  registerAuditList(app);
  registerAuditVerify(app);
  registerAuditExport(app);

  app.openAPIRegistry.registerComponent("securitySchemes", "bearerAuth", {
    type: "http",
    scheme: "bearer",
    description: "An access token from /v1/oauth/token, or a personal access token (churn_pat_…)",
  });
  app.doc31("/v1/openapi.json", {
    openapi: "3.1.0",
    info: { title: "Churn control plane", version: SERVICE_VERSION },
  });
  return app;
}
