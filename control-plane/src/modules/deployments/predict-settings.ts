import { eq } from "drizzle-orm";
import type { PredictSettings } from "#shared/registry.ts";
import type { Db } from "../../platform/db/client.ts";
import { tenants } from "../../platform/db/schema/index.ts";
import type { EdgeStore } from "../../platform/edge-store/edge-store.ts";
import { type AuditContext, appendAudit } from "../audit/audit.ts";
import { publishPointer } from "./deployments.ts";

export async function getPredictSettings(db: Db, tenantId: string): Promise<PredictSettings> {
  const [tenant] = await db
    .select({ allowUnknownFields: tenants.allowUnknownFields })
    .from(tenants)
    .where(eq(tenants.id, tenantId))
    .limit(1);
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
  await db.transaction(
    async (tx) => {
      const [before] = await tx
        .select({ allowUnknownFields: tenants.allowUnknownFields })
        .from(tenants)
        .where(eq(tenants.id, tenantId))
        .limit(1);
      await tx
        .update(tenants)
        .set({ allowUnknownFields: settings.allowUnknownFields })
        .where(eq(tenants.id, tenantId));
      await appendAudit(tx, audit, {
        tenantId,
        action: "predict_settings.update",
        targets: [{ type: "tenant", id: tenantId }],
        details: { from: before ?? null, to: settings },
      });
    },
    { behavior: "immediate" },
  );
  await publishPointer(db, edge, tenantId);
  return getPredictSettings(db, tenantId);
}
