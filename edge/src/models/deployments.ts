import { ChurnError } from "#shared/errors.ts";
import { type EdgeDeployment, edgeDeploymentSchema, kvKeys } from "#shared/kv.ts";
import { KvSwrCache, parseJsonWith, type WaitUntil } from "../kv-cache.ts";

/**
 * The per-tenant deployment pointer is the one mutable key a prediction reads. It is served from the isolate
 * for a few seconds and refreshed in waitUntil, so a warm tenant never waits on KV; a malformed pointer keeps
 * the previous one serving.
 */
export class DeploymentCache {
  readonly #cache = new KvSwrCache<EdgeDeployment>({
    freshMs: 5_000,
    parse: parseJsonWith(edgeDeploymentSchema),
  });

  /** The pointer this isolate holds for the tenant, without waiting; undefined when it must be read. */
  peek(kv: KVNamespace, tenantId: string, waitUntil: WaitUntil): EdgeDeployment | undefined {
    const value = this.#cache.peek(kv, kvKeys.deployment(tenantId), waitUntil);
    return value && value.tenantId === tenantId ? value : undefined;
  }

  async get(kv: KVNamespace, tenantId: string, waitUntil: WaitUntil): Promise<EdgeDeployment> {
    const value = await this.#cache.get(kv, kvKeys.deployment(tenantId), waitUntil);
    // The key names the tenant; a pointer claiming another tenant is treated as absent, never served.
    if (!value || value.tenantId !== tenantId)
      throw new ChurnError("MODEL_UNAVAILABLE", "No model is deployed for this tenant yet");
    return value;
  }
}
