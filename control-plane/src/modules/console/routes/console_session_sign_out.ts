import type { Hono } from "hono";
import type { ConsoleEnv } from "../env.ts";
import { consoleSession, requireCsrf, signOut } from "../session.ts";

/** POST /console/sign-out. */
export function registerConsoleSessionSignOut(app: Hono<ConsoleEnv>): void {
  app.post("/sign-out", consoleSession(), requireCsrf(), async (c) => {
    await signOut(c);
    return c.redirect("/console/sign-in?signed-out", 303);
  });
}
