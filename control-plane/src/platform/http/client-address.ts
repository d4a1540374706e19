import { getConnInfo } from "@hono/node-server/conninfo";
import type { Context } from "hono";
import type { HonoEnv } from "../env.ts";

/**
 * The address a request came from. Behind `TRUST_PROXY_HOPS` proxies (each appending the address it was
 * called from to X-Forwarded-For), the client is that many entries from the end of the peer-inclusive
 * list; entries further left were written by the caller and prove nothing. With no trusted proxy the
 * header is ignored, so a caller cannot pick its own address.
 */
export function clientAddress(c: Context<HonoEnv>): string | null {
  const peer = peerAddress(c);
  const hops = c.get("deps").config.TRUST_PROXY_HOPS;
  if (hops === 0) return peer;
  const forwarded = (c.req.header("x-forwarded-for") ?? "")
    .split(",")
    .map((entry) => entry.trim())
    .filter(Boolean);
  const chain = peer === null ? forwarded : [...forwarded, peer];
  return chain[Math.max(0, chain.length - 1 - hops)] ?? peer;
}

function peerAddress(c: Context<HonoEnv>): string | null {
  try {
    return getConnInfo(c).remote.address ?? null;
  } catch {
    return null; // not served by the Node adapter (app.request in tests)
  }
}
