import { type EdgeDeployment, kvKeys, type ServedDeployment } from "#shared/kv.ts";
import type { WaitUntil } from "../kv-cache.ts";

// Isolate scope: tenant id → the highest revision this isolate has already reported.
const reported = new Map<string, number>();

/**
 * Tells the control plane, through KV, that this deployment revision is being served, so a deploy can be
 * shown as confirmed. Written once per revision per isolate and after the response, so the hot path never
 * waits on a KV write and KV's write rate limits are not hit per request.
 */
export function reportServed(kv: KVNamespace, deployment: EdgeDeployment, waitUntil: WaitUntil): void {
  const { tenantId, revision } = deployment;
  if ((reported.get(tenantId) ?? -1) >= revision) return;
  reported.set(tenantId, revision);
  const served: ServedDeployment = {
    revision,
    productionVersionId: deployment.production.versionId,
    servedAt: new Date().toISOString(),
  };
  waitUntil(
    kv.put(kvKeys.served(tenantId), JSON.stringify(served)).catch((err: unknown) => {
      // Let a later request try again rather than leaving the deploy unconfirmed.
      if (reported.get(tenantId) === revision) reported.delete(tenantId);
      console.error(
        JSON.stringify({
          msg: "served report failed",
          tenantId,
          revision,
          error: err instanceof Error ? err.message : String(err),
        }),
      );
    }),
  );
}
