import { ChurnError } from "#shared/errors.ts";
import type { Deployment } from "#shared/registry.ts";
import type { Db } from "../../platform/db/client.ts";
import { getDeployment } from "../deployments/deployments.ts";

/** Read models only the console needs; the rest come from the modules' services. */

/** The tenant's deployment, or null before the first one (the API answers 404 there). */
export async function deploymentOrNull(db: Db, tenantId: string): Promise<Deployment | null> {
  try {
    return await getDeployment(db, tenantId);
  } catch (err) {
    if (err instanceof ChurnError && err.code === "NOT_FOUND") return null;
    throw err;
  }
}
