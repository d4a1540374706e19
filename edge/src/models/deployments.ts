import { ChurnError } from "../../../shared/src/errors.ts";
import { type EdgeDeployment, edgeDeploymentSchema, kvKeys } from "../../../shared/src/kv.ts";

/** How long a tenant's deployment pointer is served from memory before a background re-read. */
const FRESH_MS = 5_000;

interface Entry {
  value: EdgeDeployment | null;
  fetchedAt: number;
  refreshing: boolean;
}

/**
 * The per-tenant deployment pointer is the one mutable key. It is cached briefly in the isolate and
 * refreshed in waitUntil, so a request never waits on KV once the tenant is warm.
 */
export class DeploymentCache {
  readonly #entries = new Map<string, Entry>();

  async get(
    kv: KVNamespace,
    tenantId: string,
    waitUntil: (p: Promise<unknown>) => void,
  ): Promise<EdgeDeployment> {
    const entry = this.#entries.get(tenantId);
    if (entry?.value) {
      if (Date.now() - entry.fetchedAt > FRESH_MS && !entry.refreshing) {
        entry.refreshing = true;
        waitUntil(this.#read(kv, tenantId).finally(() => (entry.refreshing = false)));
      }
      return entry.value;
    }
    const value = await this.#read(kv, tenantId);
    if (!value) throw new ChurnError("MODEL_UNAVAILABLE", "No model is deployed for this tenant yet");
    return value;
  }

  async #read(kv: KVNamespace, tenantId: string): Promise<EdgeDeployment | null> {
    const text = await kv.get(kvKeys.deployment(tenantId), "text");
    let value: EdgeDeployment | null = null;
    if (text) {
      const parsed = edgeDeploymentSchema.safeParse(safeJson(text));
      // A malformed pointer keeps the previous one rather than taking the tenant offline.
      value = parsed.success ? parsed.data : (this.#entries.get(tenantId)?.value ?? null);
    }
    if (value) this.#entries.set(tenantId, { value, fetchedAt: Date.now(), refreshing: false });
    return value;
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}
