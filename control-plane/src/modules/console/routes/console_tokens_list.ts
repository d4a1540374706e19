import type { Hono } from "hono";
import type { ConsoleEnv } from "../env.ts";
import { doneFlash, viewing } from "../http.ts";
import { tokensPage } from "../token-forms.ts";

/** GET /console/tokens: the signed-in person's own personal access tokens. */
export function registerConsoleTokensList(app: Hono<ConsoleEnv>): void {
  app.get("/tokens", ...viewing("tokens:self"), async (c) =>
    c.html(await tokensPage(c, { flash: doneFlash(c.req.query("done")) })),
  );
}
