import { ChurnError } from "#shared/errors.ts";
import type { DeployedVersion, EdgeDeployment } from "#shared/kv.ts";
import type { ServedBy } from "#shared/live-model.ts";
import { ModelCache } from "./cache.ts";
import { DeploymentCache } from "./deployments.ts";
import type { LoadedModel } from "./loaded-model.ts";
import { reportServed } from "./served-report.ts";
import type { Variant } from "./variant.ts";

// Isolate-scope state: shared by every request this isolate serves.
const modelCache = new ModelCache();
const deploymentCache = new DeploymentCache();
// Tenant id → the production version it last loaded: the fallback while a newer one cannot be loaded.
const lastKnownGood = new Map<string, DeployedVersion>();

export type WaitUntil = (p: Promise<unknown>) => void;

export interface ServingModel {
  model: LoadedModel;
  ref: DeployedVersion;
  variant: Variant;
}

/** The production model with where it came from: a last-known-good fallback is not what was deployed. */
export interface ProductionModel extends ServingModel {
  servedBy: ServedBy;
}

export function tenantDeployment(
  kv: KVNamespace,
  tenantId: string,
  waitUntil: WaitUntil,
): Promise<EdgeDeployment> {
  return deploymentCache.get(kv, tenantId, waitUntil);
}

/**
 * Starts loading the tenant's production model without waiting for it, so the first request of a cold
 * isolate reads the deployment pointer and the model, and builds its session, while its rate limits are
 * checked and its body is read, instead of after them. A no-op once the isolate holds both. Failures are
 * left to the request's own load, which reports them (and falls back); waitUntil keeps the reads alive if the
 * request ends first, so they are not cut off and remembered as a failed load.
 */
export function prefetchProduction(kv: KVNamespace, tenantId: string, waitUntil: WaitUntil): void {
  const held = deploymentCache.peek(kv, tenantId, waitUntil);
  if (held && modelCache.holds(held.production.versionId)) return;
  const loading = (held ? Promise.resolve(held) : deploymentCache.get(kv, tenantId, waitUntil)).then(
    (deployment) => modelCache.get(kv, deployment.production),
  );
  waitUntil(loading.catch(() => {}));
}

function logLoadFailure(tenantId: string, ref: DeployedVersion, err: unknown, fallback: string | null): void {
  console.error(
    JSON.stringify({
      msg: "model load failed",
      tenantId,
      versionId: ref.versionId,
      error: err instanceof Error ? err.message : String(err),
      fallbackVersionId: fallback,
    }),
  );
}

/**
 * Loads the production version. If it cannot be loaded (missing or corrupt in KV), the tenant's last known
 * good model keeps serving and the failure is logged; with none, a clean MODEL_UNAVAILABLE. Only a
 * successful load reports the revision as served: a fallback is not the deployment that was asked for.
 */
export async function loadProduction(
  kv: KVNamespace,
  deployment: EdgeDeployment,
  waitUntil: WaitUntil,
): Promise<ProductionModel> {
  const ref = deployment.production;
  try {
    const model = await modelCache.get(kv, ref);
    lastKnownGood.set(deployment.tenantId, ref);
    reportServed(kv, deployment, waitUntil);
    return { model, ref, variant: "production", servedBy: "deployment" };
  } catch (err) {
    const fallback = await loadLastKnownGood(kv, deployment.tenantId, ref);
    logLoadFailure(deployment.tenantId, ref, err, fallback?.ref.versionId ?? null);
    if (!fallback) {
      throw err instanceof ChurnError
        ? err
        : new ChurnError("MODEL_UNAVAILABLE", "The tenant's model could not be loaded", { cause: err });
    }
    return { ...fallback, variant: "production", servedBy: "last-known-good" };
  }
}

/**
 * The tenant's last known good model, read through the cache rather than held beside it: a model the cache
 * evicted has had its session released, so it is loaded again from its immutable keys instead.
 */
async function loadLastKnownGood(
  kv: KVNamespace,
  tenantId: string,
  failed: DeployedVersion,
): Promise<{ model: LoadedModel; ref: DeployedVersion } | null> {
  const ref = lastKnownGood.get(tenantId);
  if (!ref || ref.versionId === failed.versionId) return null;
  try {
    return { model: await modelCache.get(kv, ref), ref };
  } catch {
    return null;
  }
}

/** Loads a canary or shadow version; a broken one is logged and skipped, never failing the request. */
export async function loadOptional(
  kv: KVNamespace,
  tenantId: string,
  ref: DeployedVersion,
  variant: Variant,
): Promise<ServingModel | null> {
  try {
    return { model: await modelCache.get(kv, ref), ref, variant };
  } catch (err) {
    logLoadFailure(tenantId, ref, err, null);
    return null;
  }
}
