import { eq } from "drizzle-orm";
import type { DbOrTx } from "../../../platform/db/client.ts";
import { monitoringSettings } from "../../../platform/db/schema/index.ts";

/** Tenants' monitoring settings, stored as validated JSON. */

export async function settingsText(db: DbOrTx, tenantId: string): Promise<string | undefined> {
  const [row] = await db
    .select({ settings: monitoringSettings.settings })
    .from(monitoringSettings)
    .where(eq(monitoringSettings.tenantId, tenantId))
    .limit(1);
  return row?.settings;
}

export async function upsertSettings(tx: DbOrTx, row: typeof monitoringSettings.$inferInsert): Promise<void> {
  const { tenantId: _, ...set } = row;
  await tx
    .insert(monitoringSettings)
    .values(row)
    .onConflictDoUpdate({ target: monitoringSettings.tenantId, set });
}

export async function tenantsWithSettings(db: DbOrTx): Promise<string[]> {
  const rows = await db.select({ tenantId: monitoringSettings.tenantId }).from(monitoringSettings);
  return rows.map((r) => r.tenantId);
}
