import type { Context, Hono } from "hono";
import { ChurnError } from "#shared/errors.ts";
import { idPattern } from "#shared/ids.ts";
import type { HonoEnv } from "../../../platform/env.ts";
import { publicOrigin } from "../../sso/public-origin.ts";
import { ssoRedirectUri } from "../../sso/settings.ts";
import { beginSsoSignIn } from "../../sso/sign-in.ts";
import type { ConsoleEnv } from "../env.ts";
import { rememberFlow } from "../sso-flow.ts";

/**
 * GET /console/sso/{tenantId}/start: off to the tenant's identity provider, with a fresh state, nonce and
 * PKCE challenge; the browser keeps the flow until the callback.
 */
export function registerConsoleSsoStart(app: Hono<ConsoleEnv>): void {
  app.get("/sso/:tenantId/start", async (c) => {
    c.header("cache-control", "no-store");
    const tenantId = c.req.param("tenantId");
    if (!idPattern("tenant").test(tenantId))
      throw new ChurnError("NOT_FOUND", "Single sign-on is not set up for this tenant");
    const { authorizationUrl, flow } = await beginSsoSignIn(
      c.get("deps"),
      tenantId,
      ssoRedirectUri(publicOrigin(c)),
    );
    rememberFlow(c as unknown as Context<HonoEnv>, flow);
    return c.redirect(authorizationUrl, 303);
  });
}
