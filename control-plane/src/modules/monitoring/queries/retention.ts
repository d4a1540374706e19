import { and, eq, lt } from "drizzle-orm";
import type { DbOrTx } from "../../../platform/db/client.ts";
import {
  erasureTombstones,
  ingestedEvents,
  monitoringHourly,
  pendingFeedback,
  predictions,
  rawRecords,
  tenants,
} from "../../../platform/db/schema/index.ts";

/** Deletes by age, one tenant at a time (retention.ts decides the cut-offs). */

export async function allTenantIds(db: DbOrTx): Promise<string[]> {
  return (await db.select({ id: tenants.id }).from(tenants)).map((t) => t.id);
}

/** Cut-offs in epoch ms: rows older than each are deleted. */
export interface RetentionCutoffs {
  rawRecords: number;
  predictions: number;
  hours: number;
  pendingFeedback: number;
  ingestedEvents: number;
  erasureTombstones: number;
}

export async function deleteOlderThan(
  tx: DbOrTx,
  tenantId: string,
  cutoffs: RetentionCutoffs,
): Promise<RetentionCutoffs> {
  const raw = await tx
    .delete(rawRecords)
    .where(and(eq(rawRecords.tenantId, tenantId), lt(rawRecords.storedAt, cutoffs.rawRecords)));
  const old = await tx
    .delete(predictions)
    .where(and(eq(predictions.tenantId, tenantId), lt(predictions.predictedAt, cutoffs.predictions)));
  const hours = await tx
    .delete(monitoringHourly)
    .where(and(eq(monitoringHourly.tenantId, tenantId), lt(monitoringHourly.hour, cutoffs.hours)));
  const pending = await tx
    .delete(pendingFeedback)
    .where(
      and(eq(pendingFeedback.tenantId, tenantId), lt(pendingFeedback.receivedAt, cutoffs.pendingFeedback)),
    );
  const delivered = await tx.delete(ingestedEvents).where(
    and(
      eq(ingestedEvents.tenantId, tenantId),
      // By the edge's time, which the tenant × time index serves; sending follows it within seconds.
      lt(ingestedEvents.occurredAt, cutoffs.ingestedEvents),
    ),
  );
  const tombstones = await tx
    .delete(erasureTombstones)
    .where(
      and(
        eq(erasureTombstones.tenantId, tenantId),
        lt(erasureTombstones.erasedAt, cutoffs.erasureTombstones),
      ),
    );
  return {
    rawRecords: raw.rowsAffected,
    predictions: old.rowsAffected,
    hours: hours.rowsAffected,
    pendingFeedback: pending.rowsAffected,
    ingestedEvents: delivered.rowsAffected,
    erasureTombstones: tombstones.rowsAffected,
  };
}
