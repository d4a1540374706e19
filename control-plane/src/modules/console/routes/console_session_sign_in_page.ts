import type { Context, Hono } from "hono";
import type { HonoEnv } from "../../../platform/env.ts";
import type { ConsoleEnv } from "../env.ts";
import { issueSignInNonce } from "../session.ts";
import { signInPage } from "../views/sign-in.ts";

/** GET /console/sign-in. */
export function registerConsoleSessionSignInPage(app: Hono<ConsoleEnv>): void {
  app.get("/sign-in", (c) => {
    c.header("cache-control", "no-store");
    const signedOut = c.req.query("signed-out") !== undefined;
    return c.html(
      signInPage(
        issueSignInNonce(c as unknown as Context<HonoEnv>),
        undefined,
        signedOut ? "You are signed out." : undefined,
      ),
    );
  });
}
