import { kvKeys, servedDeploymentSchema } from "#shared/kv.ts";
import type { DeploymentEdgeStatus } from "#shared/registry.ts";
import type { EdgeStore } from "../../platform/edge-store/edge-store.ts";

/**
 * Whether the edge has served `revision`: the edge writes the revision it serves to KV, so a deploy is
 * confirmed once that report reaches it. A missing or unreadable report means "not yet", never an error:
 * the deployment itself is still what the database says.
 */
export async function edgeStatus(
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
