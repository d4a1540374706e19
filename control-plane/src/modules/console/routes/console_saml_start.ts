import type { Context, Hono } from "hono";
import { ChurnError } from "#shared/errors.ts";
import { idPattern } from "#shared/ids.ts";
import type { HonoEnv } from "../../../platform/env.ts";
import { publicOrigin } from "../../sso/public-origin.ts";
import { beginSamlSignIn } from "../../sso/saml/sign-in.ts";
import type { ConsoleEnv } from "../env.ts";
import { rememberSamlFlow } from "../sso-flow.ts";

/**
 * GET /console/saml/{tenantId}/start: off to the tenant's SAML identity provider with a fresh AuthnRequest
 * (HTTP-Redirect binding); the browser keeps the request's id until the provider posts its answer back.
 */
export function registerConsoleSamlStart(app: Hono<ConsoleEnv>): void {
  app.get("/saml/:tenantId/start", async (c) => {
    c.header("cache-control", "no-store");
    const tenantId = c.req.param("tenantId");
    if (!idPattern("tenant").test(tenantId))
      throw new ChurnError("NOT_FOUND", "Single sign-on is not set up for this tenant");
    const { redirectUrl, flow } = await beginSamlSignIn(c.get("deps").db, tenantId, publicOrigin(c));
    rememberSamlFlow(c as unknown as Context<HonoEnv>, flow);
    return c.redirect(redirectUrl, 303);
  });
}
