import { type EdgeTenantSettings, edgeTenantSettingsSchema, kvKeys } from "#shared/kv.ts";
import { KvSwrCache, parseJsonWith, type WaitUntil } from "../kv-cache.ts";

const SETTINGS_FRESH_MS = 10_000;
const DEFAULT_SETTINGS: EdgeTenantSettings = edgeTenantSettingsSchema.parse({});

// Most tenants never write settings: their absence is cached too, so it costs no KV read per request.
const settingsCache = new KvSwrCache({
  freshMs: SETTINGS_FRESH_MS,
  parse: parseJsonWith(edgeTenantSettingsSchema),
  cacheAbsent: true,
});

/**
 * The tenant's edge settings (`tenant:{id}:edge-settings`, written by the control plane), from the isolate
 * cache and refreshed in waitUntil. Absent, malformed or unreadable means the defaults (a malformed update
 * keeps the last good value), so raw records are captured only while a valid value says so.
 */
export async function tenantEdgeSettings(
  kv: KVNamespace,
  tenantId: string,
  waitUntil: WaitUntil,
): Promise<EdgeTenantSettings> {
  try {
    return (await settingsCache.get(kv, kvKeys.edgeSettings(tenantId), waitUntil)) ?? DEFAULT_SETTINGS;
  } catch (err) {
    console.error(
      JSON.stringify({
        msg: "edge settings unreadable, using defaults",
        tenantId,
        error: err instanceof Error ? err.message : String(err),
      }),
    );
    return DEFAULT_SETTINGS;
  }
}

/**
 * The tenant's edge settings when the isolate already holds them (refreshed in waitUntil when stale), without
 * yielding; `undefined` until they have been read once (use `tenantEdgeSettings`).
 */
export function cachedTenantEdgeSettings(
  kv: KVNamespace,
  tenantId: string,
  waitUntil: WaitUntil,
): EdgeTenantSettings | undefined {
  const cached = settingsCache.peek(kv, kvKeys.edgeSettings(tenantId), waitUntil);
  return cached === undefined ? undefined : (cached ?? DEFAULT_SETTINGS);
}
