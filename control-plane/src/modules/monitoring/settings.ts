import { ChurnError } from "#shared/errors.ts";
import { type EdgeTenantSettings, edgeTenantSettingsSchema, kvKeys } from "#shared/kv.ts";
import { type MonitoringSettings, monitoringSettingsSchema } from "#shared/monitoring.ts";
import type { Db, DbOrTx } from "../../platform/db/client.ts";
import { writeTransaction } from "../../platform/db/write-transaction.ts";
import type { EdgeStore } from "../../platform/edge-store/edge-store.ts";
import { publishCurrent } from "../../platform/edge-store/publish-current.ts";
import { KeyedSerialQueue } from "../../platform/serial-queue.ts";
import { type AuditContext, appendAudit } from "../audit/audit.ts";
import { settingsText, tenantsWithSettings, upsertSettings } from "./queries/settings.ts";

const publishes = new KeyedSerialQueue();

/** Every setting at its default: what a tenant that never saved settings gets. */
export function defaultMonitoringSettings(): MonitoringSettings {
  return monitoringSettingsSchema.parse({});
}

/** The tenant's settings, defaults filled in (stored JSON is re-parsed so new fields get their defaults). */
export async function getMonitoringSettings(db: DbOrTx, tenantId: string): Promise<MonitoringSettings> {
  const text = await settingsText(db, tenantId);
  return text !== undefined ? monitoringSettingsSchema.parse(JSON.parse(text)) : defaultMonitoringSettings();
}

/** What the edge reads from `tenant:{id}:edge-settings`, derived from the monitoring settings. */
export function edgeSettingsOf(settings: MonitoringSettings): EdgeTenantSettings {
  return edgeTenantSettingsSchema.parse({ captureRecords: settings.rawRecords.enabled });
}

/**
 * Writes `tenant:{id}:edge-settings`, rebuilt from the database; publishes of one tenant run one at a time
 * so an older value never lands after a newer one.
 */
export function publishEdgeSettings(db: Db, edge: EdgeStore, tenantId: string): Promise<EdgeTenantSettings> {
  return publishes.run(tenantId, async () => {
    const settings = await publishCurrent(
      async () => edgeSettingsOf(await getMonitoringSettings(db, tenantId)),
      async (text) => {
        try {
          await edge.put(kvKeys.edgeSettings(tenantId), text);
        } catch (err) {
          throw new ChurnError(
            "UNAVAILABLE",
            "The monitoring settings are saved, but the edge store refused them; they are re-sent with the next change or restart",
            { cause: err },
          );
        }
      },
    );
    return settings!;
  });
}

/** Replaces the tenant's monitoring settings (audited in the same transaction), then publishes the edge's part. */
export async function updateMonitoringSettings(
  db: Db,
  edge: EdgeStore,
  audit: AuditContext,
  tenantId: string,
  settings: MonitoringSettings,
): Promise<MonitoringSettings> {
  if (settings.drift.psiWarn > settings.drift.psiAlert) {
    throw new ChurnError("INVALID_REQUEST", "drift.psiWarn must not exceed drift.psiAlert", {
      issues: [{ path: "drift.psiWarn", message: "must not exceed drift.psiAlert" }],
    });
  }
  const now = Date.now();
  await writeTransaction(db, async (tx) => {
    const before = await getMonitoringSettings(tx, tenantId);
    const stored = { settings: JSON.stringify(settings), updatedAt: now, updatedBy: audit.actor.id };
    await upsertSettings(tx, { tenantId, ...stored });
    await appendAudit(tx, audit, {
      tenantId,
      action: "monitoring.update",
      targets: [{ type: "tenant", id: tenantId }],
      details: { from: before, to: settings },
    });
  });
  await publishEdgeSettings(db, edge, tenantId);
  return settings;
}

/**
 * Re-sends every tenant's stored edge settings at start-up, like deployments and revocations: a put the
 * edge store refused earlier is repaired without waiting for the tenant's next change.
 */
export async function syncEdgeSettingsToEdge(db: Db, edge: EdgeStore): Promise<number> {
  const tenants = await tenantsWithSettings(db);
  for (const tenantId of tenants) await publishEdgeSettings(db, edge, tenantId);
  return tenants.length;
}
