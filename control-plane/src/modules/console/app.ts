import type { OpenAPIHono } from "@hono/zod-openapi";
import { type Context, Hono } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { ChurnError } from "#shared/errors.ts";
import { renderError, toChurnError } from "#shared/http-errors.ts";
import type { HonoEnv } from "../../platform/env.ts";
import type { ConsoleEnv } from "./env.ts";
import { securityHeaders } from "./layout.ts";
import { registerConsoleAssets } from "./routes/console_assets.ts";
import { registerConsoleAudit } from "./routes/console_audit.ts";
import { registerConsoleAuditExport } from "./routes/console_audit_export.ts";
import { registerConsoleBusiness } from "./routes/console_business.ts";
import { registerConsoleClientsCreate } from "./routes/console_clients_create.ts";
import { registerConsoleClientsList } from "./routes/console_clients_list.ts";
import { registerConsoleClientsRevoke } from "./routes/console_clients_revoke.ts";
import { registerConsoleClientsRotate } from "./routes/console_clients_rotate.ts";
import { registerConsoleClientsUpdate } from "./routes/console_clients_update.ts";
import { registerConsoleDeploymentCanary } from "./routes/console_deployment_canary.ts";
import { registerConsoleDeploymentCanaryEnd } from "./routes/console_deployment_canary_end.ts";
import { registerConsoleDeploymentPromote } from "./routes/console_deployment_promote.ts";
import { registerConsoleDeploymentRollback } from "./routes/console_deployment_rollback.ts";
import { registerConsoleDeploymentShadowAdd } from "./routes/console_deployment_shadow_add.ts";
import { registerConsoleDeploymentShadowRemove } from "./routes/console_deployment_shadow_remove.ts";
import { registerConsoleHome } from "./routes/console_home.ts";
import { registerConsoleModelReportBytes } from "./routes/console_model_report_bytes.ts";
import { registerConsoleModelReportPage } from "./routes/console_model_report_page.ts";
import { registerConsoleModels } from "./routes/console_models.ts";
import { registerConsoleMonitoring } from "./routes/console_monitoring.ts";
import { registerConsoleOverview } from "./routes/console_overview.ts";
import { registerConsoleSamlAcs } from "./routes/console_saml_acs.ts";
import { registerConsoleSamlStart } from "./routes/console_saml_start.ts";
import { registerConsoleSessionSignIn } from "./routes/console_session_sign_in.ts";
import { registerConsoleSessionSignInPage } from "./routes/console_session_sign_in_page.ts";
import { registerConsoleSessionSignOut } from "./routes/console_session_sign_out.ts";
import { registerConsoleSsoCallback } from "./routes/console_sso_callback.ts";
import { registerConsoleSsoStart } from "./routes/console_sso_start.ts";
import { registerConsoleTokensCreate } from "./routes/console_tokens_create.ts";
import { registerConsoleTokensList } from "./routes/console_tokens_list.ts";
import { registerConsoleTokensRevoke } from "./routes/console_tokens_revoke.ts";
import { registerConsoleUsage } from "./routes/console_usage.ts";
import { registerConsoleUsageQuota } from "./routes/console_usage_quota.ts";
import { wantsJson } from "./session.ts";
import { errorPage } from "./views/sign-in.ts";

const TITLES: Record<number, string> = {
  400: "That did not work",
  401: "Please sign in",
  403: "Not allowed",
  404: "Page not found",
  409: "Something changed meanwhile",
  413: "Too much data",
};

/**
 * Errors become an HTML page for people and the one JSON envelope for scripts, with the same status and
 * code either way; a navigation whose session has ended goes back to sign-in.
 */
function onConsoleError(err: unknown, c: Context<ConsoleEnv>): Response | Promise<Response> {
  const requestId = c.get("requestId") ?? "unknown";
  const log = (e: Record<string, unknown>) => c.get("deps")?.log.error(e);
  if (wantsJson(c)) return renderError(c, err, requestId, log);
  const error = toChurnError(err, requestId, log);
  securityHeaders(c);
  c.header("cache-control", "no-store");
  const issues = error.issues?.length
    ? ` ${error.issues.map((i) => `${i.path}: ${i.message}`).join("; ")}.`
    : "";
  const message = error.issues?.length ? `Some fields are not valid.${issues}` : error.message;
  return c.html(
    errorPage(
      error.status,
      TITLES[error.status] ?? "Something went wrong",
      message,
      requestId,
      c.get("consoleUser") !== undefined,
    ),
    error.status as ContentfulStatusCode,
  );
}

/** The admin console: server-rendered pages under /console, outside the JSON API and its OpenAPI document. */
export function createConsole(): Hono<ConsoleEnv> {
  const app = new Hono<ConsoleEnv>();
  app.use("*", async (c, next) => {
    securityHeaders(c);
    await next();
  });
  app.onError(onConsoleError);
  registerConsoleAssets(app);
  registerConsoleSessionSignInPage(app);
  registerConsoleSessionSignIn(app);
  registerConsoleSessionSignOut(app);
  registerConsoleSsoStart(app);
  registerConsoleSsoCallback(app);
  registerConsoleSamlStart(app);
  registerConsoleSamlAcs(app);
  registerConsoleHome(app);
  registerConsoleOverview(app);
  registerConsoleModels(app);
  registerConsoleAudit(app);
  registerConsoleBusiness(app);
  registerConsoleMonitoring(app);
  registerConsoleModelReportPage(app);
  registerConsoleModelReportBytes(app);
  registerConsoleDeploymentPromote(app);
  registerConsoleDeploymentCanary(app);
  registerConsoleDeploymentCanaryEnd(app);
  registerConsoleDeploymentShadowAdd(app);
  registerConsoleDeploymentShadowRemove(app);
  registerConsoleDeploymentRollback(app);
  registerConsoleClientsList(app);
  registerConsoleClientsCreate(app);
  registerConsoleClientsUpdate(app);
  registerConsoleClientsRotate(app);
  registerConsoleClientsRevoke(app);
  registerConsoleAuditExport(app);
  registerConsoleTokensList(app);
  registerConsoleTokensCreate(app);
  registerConsoleTokensRevoke(app);
  registerConsoleUsage(app);
  registerConsoleUsageQuota(app);
  app.all("*", (c) => {
    throw new ChurnError("NOT_FOUND", `No console page at ${c.req.path}`);
  });
  return app;
}

export function registerConsole(app: OpenAPIHono<HonoEnv>): void {
  app.route("/console", createConsole());
}
