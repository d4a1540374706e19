import type { DbOrTx } from "../../../platform/db/client.ts";
import { deployments } from "../../../platform/db/schema/index.ts";

/** Tenants with a deployment. */
export async function deployedTenantIds(db: DbOrTx): Promise<string[]> {
  return (await db.select({ tenantId: deployments.tenantId }).from(deployments)).map((r) => r.tenantId);
}
