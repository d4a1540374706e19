import type { Context, Hono } from "hono";
import { ChurnError } from "#shared/errors.ts";
import type { HonoEnv } from "../../../platform/env.ts";
import type { ConsoleEnv } from "../env.ts";
import { field, formOf } from "../http.ts";
import { homeFor } from "../layout.ts";
import { issueSignInNonce, signIn } from "../session.ts";
import { signInPage } from "../views/sign-in.ts";

/** POST /console/sign-in. */
export function registerConsoleSessionSignIn(app: Hono<ConsoleEnv>): void {
  app.post("/sign-in", async (c) => {
    c.header("cache-control", "no-store");
    const form = await formOf(c);
    const hc = c as unknown as Context<HonoEnv>;
    try {
      await signIn(hc, { token: field(form, "token") ?? "", nonce: field(form, "_nonce") ?? "" });
    } catch (err) {
      if (err instanceof ChurnError && err.status === 401) {
        // A wrong token is a form error, shown on the form, not an error page.
        return c.html(signInPage(issueSignInNonce(hc), err.message), 401);
      }
      throw err;
    }
    return c.redirect(homeFor(c.get("principal")), 303);
  });
}
