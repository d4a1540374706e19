import type { Hono } from "hono";
import { clientsPage } from "../client-forms.ts";
import type { ConsoleEnv } from "../env.ts";
import { doneFlash, viewing } from "../http.ts";

/** GET /console/clients: the tenant's API clients. */
export function registerConsoleClientsList(app: Hono<ConsoleEnv>): void {
  app.get("/clients", ...viewing("clients:read"), async (c) =>
    c.html(await clientsPage(c, { flash: doneFlash(c.req.query("done")) })),
  );
}
