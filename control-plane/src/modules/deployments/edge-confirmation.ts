import { kvKeys, servedDeploymentSchema } from "#shared/kv.ts";
import type { DeploymentEdgeStatus } from "#shared/registry.ts";
import type { BoundedLru } from "../../platform/cache/bounded-lru.ts";
import type { EdgeStore } from "../../platform/edge-store/edge-store.ts";

/**
 * How long a report read from KV is reused: the edge's own report lags its isolates by seconds, so a
 * confirmation is kept 5 s and a "not yet" 1 s (a deploy's confirmation shows at most a second late).
 */
export const CONFIRMED_TTL_MS = 5_000;
export const UNCONFIRMED_TTL_MS = 1_000;

/**
 * Whether the edge has served `revision`: the edge writes the revision it serves to KV, so a deploy is
 * confirmed once that report reaches it. A missing or unreadable report means "not yet", never an error:
 * the deployment itself is still what the database says.
 */
export async function edgeStatus(
  edge: EdgeStore,
  confirmations: BoundedLru<DeploymentEdgeStatus>,
  tenantId: string,
  revision: number,
): Promise<DeploymentEdgeStatus> {
  const key = `${tenantId}:${revision}`;
  const known = confirmations.get(key);
  if (known) return known;
  const status = await readEdgeStatus(edge, tenantId, revision);
  confirmations.set(key, status, Date.now() + (status.confirmed ? CONFIRMED_TTL_MS : UNCONFIRMED_TTL_MS));
  return status;
}

async function readEdgeStatus(
  edge: EdgeStore,
  tenantId: string,
  revision: number,
): Promise<DeploymentEdgeStatus> {
  let text: string | null = null;
  try {
    text = await edge.get(kvKeys.served(tenantId));
  } catch {
    text = null;
  }
  const parsed = text === null ? null : servedDeploymentSchema.safeParse(safeJson(text));
  if (!parsed?.success) return { confirmed: false, revision: null, servedAt: null };
  const served = parsed.data;
  return { confirmed: served.revision >= revision, revision: served.revision, servedAt: served.servedAt };
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}
