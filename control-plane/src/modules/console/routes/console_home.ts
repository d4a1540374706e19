import type { Hono } from "hono";
import type { ConsoleEnv } from "../env.ts";
import { homeFor } from "../layout.ts";
import { consoleSession } from "../session.ts";

/** GET /console: each person lands on the first page their role may see. */
export function registerConsoleHome(app: Hono<ConsoleEnv>): void {
  app.get("/", consoleSession(), (c) => c.redirect(homeFor(c.get("principal")), 303));
}
