import type { Context } from "hono";
import type { UserRow } from "../../platform/db/schema/index.ts";
import type { HonoEnv } from "../../platform/env.ts";
import { homeFor } from "./layout.ts";
import { startSession } from "./session.ts";
import { ssoSignedInPage } from "./views/sign-in.ts";

/**
 * The end of a single sign-on, OpenID Connect or SAML: the person's console session starts, and a page
 * moves them on to their home (see ssoSignedInPage for why a page and not a redirect).
 */
export async function finishFederatedSignIn(c: Context<HonoEnv>, user: UserRow): Promise<Response> {
  const principal = {
    tenantId: user.tenantId,
    kind: "user",
    id: user.id,
    role: user.role,
    scopes: new Set<string>(),
  } as const;
  await startSession(c, principal);
  const home = homeFor(principal);
  c.header("refresh", `0; url=${home}`);
  return c.html(ssoSignedInPage(home, user.name));
}
