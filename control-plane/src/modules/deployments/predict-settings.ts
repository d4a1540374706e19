import type { PredictSettings } from "#shared/registry.ts";
import type { Db } from "../../platform/db/client.ts";
import { writeTransaction } from "../../platform/db/write-transaction.ts";
import type { EdgeStore } from "../../platform/edge-store/edge-store.ts";
import { type AuditContext, appendAudit } from "../audit/audit.ts";
import { publishPointer } from "./deployments.ts";
import { allowUnknownFieldsOf, updateTenantSettings } from "./queries/tenant-settings.ts";

export async function getPredictSettings(db: Db, tenantId: string): Promise<PredictSettings> {
  const tenant = await allowUnknownFieldsOf(db, tenantId);
  return { allowUnknownFields: tenant?.allowUnknownFields ?? false };
}

/**
 * Replaces the tenant's predict settings (audited with the change), then republishes the deployment pointer
 * the edge reads them from; a tenant with nothing deployed gets them with its first deployment.
 */
export async function setPredictSettings(
  db: Db,
  edge: EdgeStore,
  audit: AuditContext,
  tenantId: string,
  settings: PredictSettings,
): Promise<PredictSettings> {
  await writeTransaction(db, async (tx) => {
    const before = await allowUnknownFieldsOf(tx, tenantId);
    await updateTenantSettings(tx, tenantId, { allowUnknownFields: settings.allowUnknownFields });
    await appendAudit(tx, audit, {
      tenantId,
      action: "predict_settings.update",
      targets: [{ type: "tenant", id: tenantId }],
      details: { from: before ?? null, to: settings },
    });
  });
  await publishPointer(db, edge, tenantId);
  return getPredictSettings(db, tenantId);
}
