import { ChurnError } from "#shared/errors.ts";
import { kvKeys, type RevokedClients, revokedClientsSchema } from "#shared/kv.ts";
import { MAX_TOKEN_TTL_SECONDS } from "#shared/oauth.ts";
import { epochSeconds } from "#shared/time.ts";
import type { Db } from "../../platform/db/client.ts";
import type { EdgeStore } from "../../platform/edge-store/edge-store.ts";
import { KeyedSerialQueue } from "../../platform/serial-queue.ts";
import { clientsRevokedSince } from "./queries/api-clients.ts";

/** Verifiers accept tokens up to 30 s past `exp`; a revocation must be listed at least that much longer. */
const CLOCK_LEEWAY_SECONDS = 30;

const publishes = new KeyedSerialQueue();

/**
 * Publishes the platform-wide revocation list the edge reads (`auth:revoked-clients`): every client revoked
 * more recently than the longest token lifetime, since only such a client can still hold an unexpired token.
 * The key is shared by all tenants, so it is rebuilt, never patched: the database's revocations, unioned with
 * the entries already published that are still young (revocation is permanent, so the union is always right,
 * even when another control-plane process published in between).
 */
export function publishRevokedClients(db: Db, edge: EdgeStore, now = Date.now()): Promise<RevokedClients> {
  return publishes.run("revoked-clients", async () => {
    const cutoffSeconds = epochSeconds(now) - MAX_TOKEN_TTL_SECONDS - CLOCK_LEEWAY_SECONDS;
    const rows = await clientsRevokedSince(db, cutoffSeconds * 1000);
    const list: RevokedClients = { clients: {} };
    for (const [id, revokedAt] of Object.entries((await readPublished(edge)).clients)) {
      if (revokedAt > cutoffSeconds) list.clients[id] = revokedAt;
    }
    for (const row of rows) list.clients[row.id] = epochSeconds(row.revokedAt!);
    try {
      await edge.put(kvKeys.revokedClients(), JSON.stringify(list));
    } catch (err) {
      throw new ChurnError(
        "UNAVAILABLE",
        "The revocation is recorded and in force here, but the edge store refused the revocation list; it is re-sent at the next revocation or start-up",
        { cause: err },
      );
    }
    return list;
  });
}

async function readPublished(edge: EdgeStore): Promise<RevokedClients> {
  const text = await edge.get(kvKeys.revokedClients());
  if (text === null) return { clients: {} };
  try {
    const parsed = revokedClientsSchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : { clients: {} };
  } catch {
    return { clients: {} }; // an unreadable value is replaced by the database's list
  }
}
