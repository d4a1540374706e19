import { sha256Hex } from "#shared/hash.ts";
import type { Db } from "../../platform/db/client.ts";
import { PAT_PREFIX } from "./pat.ts";
import { liveClientScopes } from "./queries/api-clients.ts";
import { type LiveToken, liveTokenByHash } from "./queries/tokens.ts";

export type { LiveToken } from "./queries/tokens.ts";

/**
 * The live personal access token and its person, or nothing when the token is malformed, unknown, revoked
 * or expired: the API's bearer check and the console's session check read the same row.
 */
export async function liveToken(db: Db, token: string): Promise<LiveToken | undefined> {
  if (!token.startsWith(PAT_PREFIX) || token.length > 128) return undefined;
  const [row] = await liveTokenByHash(db).all({ tokenHash: await sha256Hex(token), now: Date.now() });
  return row;
}

/** A client token's client, when it is not revoked: its current scopes bound what the token may do. */
export async function liveClient(
  db: Db,
  clientId: string,
  tenantId: string,
): Promise<{ id: string; scopes: string } | undefined> {
  const [row] = await liveClientScopes(db).all({ id: clientId, tenantId });
  return row;
}
