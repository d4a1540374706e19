import type { Context } from "hono";
import { listOwnTokens } from "../identity/personal-access-tokens.ts";
import type { ConsoleEnv } from "./env.ts";
import { page } from "./layout.ts";
import { type ShownToken, tokensView } from "./views/tokens.ts";

/** The access tokens page through the identity module, with a new token or a notice to show. */
export async function tokensPage(
  c: Context<ConsoleEnv>,
  shown: { created?: ShownToken | undefined; flash?: { kind: "ok" | "error"; text: string } | undefined },
) {
  const user = c.get("consoleUser");
  const tokens = await listOwnTokens(c.get("deps").db, { tenantId: user.tenantId, userId: user.id });
  return page(
    c,
    tokensView({ tokens, sessionTokenId: user.sessionTokenId, csrfToken: user.csrfToken, ...shown }),
  );
}
