import type { OpenAPIHono } from "@hono/zod-openapi";
import { type Context, Hono } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { ChurnError } from "#shared/errors.ts";
import { renderError, toChurnError } from "#shared/http-errors.ts";
import type { HonoEnv } from "../../platform/env.ts";
import type { ConsoleEnv } from "./env.ts";
import { securityHeaders } from "./layout.ts";
import { errorPage } from "./pages/sign-in.ts";
import { registerConsoleAssets } from "./routes/console_assets.ts";
import { registerConsoleAuditExport } from "./routes/console_audit_export.ts";
import { registerConsoleClients } from "./routes/console_clients.ts";
import { registerConsoleDeployment } from "./routes/console_deployment.ts";
import { registerConsoleModelReport } from "./routes/console_model_report.ts";
import { registerConsolePages } from "./routes/console_pages.ts";
import { registerConsoleSession } from "./routes/console_session.ts";
import { wantsJson } from "./session.ts";

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
  registerConsoleSession(app);
  registerConsolePages(app);
  registerConsoleModelReport(app);
  registerConsoleDeployment(app);
  registerConsoleClients(app);
  registerConsoleAuditExport(app);
  app.all("*", (c) => {
    throw new ChurnError("NOT_FOUND", `No console page at ${c.req.path}`);
  });
  return app;
}

export function registerConsole(app: OpenAPIHono<HonoEnv>): void {
  app.route("/console", createConsole());
}
