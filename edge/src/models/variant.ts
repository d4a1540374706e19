import type { EdgeDeployment } from "#shared/kv.ts";

export type Variant = "production" | "canary" | "shadow";

/** FNV-1a: a fast, stable hash so one customer always lands in the same canary bucket. */
function bucketOf(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) % 10_000;
}

/** Sticky canary assignment: hash of tenant + customer id against the weight; random without an id. */
export function isCanary(deployment: EdgeDeployment, customerId: string | undefined): boolean {
  const weight = deployment.canary?.weight ?? 0;
  if (weight <= 0) return false;
  if (weight >= 100) return true;
  const bucket = customerId
    ? bucketOf(`${deployment.tenantId}:${customerId}`)
    : Math.floor(Math.random() * 10_000);
  return bucket < weight * 100;
}
