import type { Context, Hono } from "hono";
import { idPattern } from "#shared/ids.ts";
import type { Db } from "../../../platform/db/client.ts";
import type { HonoEnv } from "../../../platform/env.ts";
import { samlEnabledFor } from "../../sso/saml/settings.ts";
import { ssoEnabledFor } from "../../sso/settings.ts";
import type { ConsoleEnv } from "../env.ts";
import { issueSignInNonce } from "../session.ts";
import { type SsoChoice, signInPage } from "../views/sign-in.ts";

/** Where the tenant's single sign-on starts: SAML or OpenID Connect, whichever it has switched on. */
async function ssoStartPath(db: Db, tenantId: string): Promise<string | undefined> {
  if (await samlEnabledFor(db, tenantId)) return `/console/saml/${tenantId}/start`;
  if (await ssoEnabledFor(db, tenantId)) return `/console/sso/${tenantId}/start`;
  return undefined;
}

/** GET /console/sign-in, and `?tenant=tnt_…` to offer that tenant's single sign-on. */
export function registerConsoleSessionSignInPage(app: Hono<ConsoleEnv>): void {
  app.get("/sign-in", async (c) => {
    c.header("cache-control", "no-store");
    const signedOut = c.req.query("signed-out") !== undefined;
    const tenant = c.req.query("tenant")?.trim();
    let sso: SsoChoice = {};
    if (tenant) {
      const wellFormed = idPattern("tenant").test(tenant);
      const startPath = wellFormed ? await ssoStartPath(c.get("deps").db, tenant) : undefined;
      sso = { tenantId: wellFormed ? tenant : undefined, startPath, unavailable: startPath === undefined };
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
