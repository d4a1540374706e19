import type { Hono } from "hono";
import { z } from "zod";
import { revokeOwnToken } from "../../identity/personal-access-tokens.ts";
import type { ConsoleEnv } from "../env.ts";
import { auditOf, changing, parseForm } from "../http.ts";
import { signOut } from "../session.ts";

/** POST /console/tokens/:id/revoke: one of the person's own tokens; this session's own signs them out. */
export function registerConsoleTokensRevoke(app: Hono<ConsoleEnv>): void {
  app.post("/tokens/:id/revoke", ...changing("tokens:self"), async (c) => {
    const id = parseForm(z.string().min(1).max(64), c.req.param("id"));
    const user = c.get("consoleUser");
    if (id === user.sessionTokenId) {
      await signOut(c);
      return c.redirect("/console/sign-in?signed-out", 303);
    }
    await revokeOwnToken(c.get("deps").db, auditOf(c), { tenantId: user.tenantId, userId: user.id }, id);
    return c.redirect("/console/tokens?done=token-revoked", 303);
  });
}
