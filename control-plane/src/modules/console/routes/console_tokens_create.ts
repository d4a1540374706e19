import type { Hono } from "hono";
import { createPatRequestSchema } from "#shared/identity.ts";
import { createOwnToken } from "../../identity/personal-access-tokens.ts";
import type { ConsoleEnv } from "../env.ts";
import { auditOf, changing, field, formOf, parseForm } from "../http.ts";
import { tokensPage } from "../token-forms.ts";

/** POST /console/tokens: a new personal access token, shown once (as POST /v1/users/me/tokens does). */
export function registerConsoleTokensCreate(app: Hono<ConsoleEnv>): void {
  app.post("/tokens", ...changing("tokens:self"), async (c) => {
    const form = await formOf(c);
    const ttl = field(form, "ttlDays");
    const input = parseForm(createPatRequestSchema, {
      name: field(form, "name"),
      ttlDays: ttl === undefined ? undefined : Number(ttl),
    });
    const user = c.get("consoleUser");
    const created = await createOwnToken(
      c.get("deps").db,
      auditOf(c),
      { tenantId: user.tenantId, userId: user.id },
      input,
    );
    // The token is in this response only: never cached, never put in a URL or a log.
    c.header("cache-control", "no-store");
    return c.html(
      await tokensPage(c, {
        created: { name: created.name, token: created.token, expiresAt: created.expiresAt },
      }),
    );
  });
}
