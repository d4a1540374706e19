import type { Context, Hono } from "hono";
import { idPattern } from "#shared/ids.ts";
import type { HonoEnv } from "../../../platform/env.ts";
import { ssoEnabledFor } from "../../sso/settings.ts";
import type { ConsoleEnv } from "../env.ts";
import { issueSignInNonce } from "../session.ts";
import { type SsoChoice, signInPage } from "../views/sign-in.ts";

/** GET /console/sign-in, and `?tenant=tnt_…` to offer that tenant's single sign-on. */
export function registerConsoleSessionSignInPage(app: Hono<ConsoleEnv>): void {
  app.get("/sign-in", async (c) => {
    c.header("cache-control", "no-store");
    const signedOut = c.req.query("signed-out") !== undefined;
    const tenant = c.req.query("tenant")?.trim();
    let sso: SsoChoice = {};
    if (tenant) {
      const wellFormed = idPattern("tenant").test(tenant);
      sso = {
        tenantId: wellFormed ? tenant : undefined,
        unavailable: !wellFormed || !(await ssoEnabledFor(c.get("deps").db, tenant)),
      };
    }
    return c.html(
      signInPage(
        issueSignInNonce(c as unknown as Context<HonoEnv>),
        undefined,
        signedOut ? "You are signed out." : undefined,
        sso,
      ),
    );
  });
}
