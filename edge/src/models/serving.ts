import { ChurnError } from "../../../shared/src/errors.ts";
import type { DeployedVersion, EdgeDeployment } from "../../../shared/src/kv.ts";
import { ModelCache } from "./cache.ts";
import { DeploymentCache } from "./deployments.ts";
import type { LoadedModel } from "./loaded-model.ts";
import { chooseVariant, type Variant } from "./variant.ts";

// Isolate-scope state: shared by every request this isolate serves.
const modelCache = new ModelCache();
const deploymentCache = new DeploymentCache();
const lastKnownGood = new Map<string, { model: LoadedModel; ref: DeployedVersion }>();

export interface ServingModel {
  model: LoadedModel;
  ref: DeployedVersion;
  variant: Variant;
  deployment: EdgeDeployment;
}

/**
 * Picks the variant for this caller and loads it. If the version cannot be loaded (missing or corrupt in
 * KV), the tenant's last known good model keeps serving and the failure is logged.
 */
export async function resolveServingModel(
  kv: KVNamespace,
  tenantId: string,
  customerId: string | undefined,
  waitUntil: (p: Promise<unknown>) => void,
): Promise<ServingModel> {
  const deployment = await deploymentCache.get(kv, tenantId, waitUntil);
  const { variant, ref } = chooseVariant(deployment, customerId);
  try {
    const model = await modelCache.get(kv, ref);
    if (variant === "production") lastKnownGood.set(tenantId, { model, ref });
    return { model, ref, variant, deployment };
  } catch (err) {
    const fallback = lastKnownGood.get(tenantId);
    console.error(
      JSON.stringify({
        msg: "model load failed",
        tenantId,
        versionId: ref.versionId,
        error: err instanceof Error ? err.message : String(err),
        fallbackVersionId: fallback?.ref.versionId ?? null,
      }),
    );
    if (!fallback) {
      throw err instanceof ChurnError
        ? err
        : new ChurnError("MODEL_UNAVAILABLE", "The tenant's model could not be loaded", { cause: err });
    }
    return { model: fallback.model, ref: fallback.ref, variant: "production", deployment };
  }
}

/** Loads the tenant's production model for readiness checks. */
export async function checkTenantReady(
  kv: KVNamespace,
  tenantId: string,
  waitUntil: (p: Promise<unknown>) => void,
): Promise<ServingModel> {
  return resolveServingModel(kv, tenantId, undefined, waitUntil);
}
