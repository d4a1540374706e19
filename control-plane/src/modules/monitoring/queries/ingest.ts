import { and, eq, inArray, isNull, sql } from "drizzle-orm";
import type { Tx } from "../../../platform/db/client.ts";
import {
  ingestedEvents,
  monitoringHourly,
  pendingFeedback,
  predictions,
  rawRecords,
} from "../../../platform/db/schema/index.ts";

/**
 * The ingest path's writes, all inside ingest's one write transaction. Batches travel as a single JSON
 * parameter that SQLite unpacks with json_each: binding tens of thousands of parameters through the query
 * builder cost more than the inserts themselves.
 */

/** Records the events' ids; returns the ids that were new (a redelivered id is already there). */
export async function recordEventIds(
  tx: Tx,
  rows: (typeof ingestedEvents.$inferInsert)[],
): Promise<string[]> {
  const inserted = await tx
    .insert(ingestedEvents)
    .values(rows)
    .onConflictDoNothing({ target: ingestedEvents.eventId })
    .returning({ eventId: ingestedEvents.eventId });
  return inserted.map((r) => r.eventId);
}

/** Feedback items whose prediction has not arrived: [eventId, position, customerId, predictionId, churned, observedAt]. */
export async function insertPendingFeedback(
  tx: Tx,
  tenantId: string,
  items: (string | number | null)[][],
  now: number,
): Promise<void> {
  await tx.run(sql`
    insert into ${pendingFeedback}
      (tenant_id, event_id, position, customer_id, prediction_id, churned, observed_at, received_at)
    select ${tenantId}, value->>'$[0]', value->>'$[1]', value->>'$[2]', value->>'$[3]', value->>'$[4]',
      value->>'$[5]', ${now}
    from json_each(${JSON.stringify(items)}) where true
    on conflict do nothing`);
}

export async function storedHour(tx: Tx, tenantId: string, versionId: string, hour: number) {
  const [stored] = await tx
    .select()
    .from(monitoringHourly)
    .where(
      and(
        eq(monitoringHourly.tenantId, tenantId),
        eq(monitoringHourly.versionId, versionId),
        eq(monitoringHourly.hour, hour),
      ),
    )
    .limit(1);
  return stored;
}

export async function upsertHour(
  tx: Tx,
  key: { tenantId: string; versionId: string; hour: number },
  row: Omit<typeof monitoringHourly.$inferInsert, "tenantId" | "versionId" | "hour">,
): Promise<void> {
  await tx
    .insert(monitoringHourly)
    .values({ ...key, ...row })
    .onConflictDoUpdate({
      target: [monitoringHourly.tenantId, monitoringHourly.versionId, monitoringHourly.hour],
      set: row,
    });
}

/** Rows of [tenantId, predictionId, customerId, versionId, variant, probability, contact, predictedAt]. */
export async function insertPredictionRows(tx: Tx, rows: (string | number | null)[][]): Promise<void> {
  await tx.run(sql`
    insert into ${predictions} (tenant_id, prediction_id, customer_id, version_id, variant, probability, contact, predicted_at)
    select value->>'$[0]', value->>'$[1]', value->>'$[2]', value->>'$[3]', value->>'$[4]', value->>'$[5]',
      value->>'$[6]', value->>'$[7]'
    from json_each(${JSON.stringify(rows)}) where true
    on conflict do nothing`);
}

/** Rows of [tenantId, predictionId, record JSON]. */
export async function insertRawRecords(tx: Tx, rows: [string, string, string][], now: number): Promise<void> {
  await tx.run(sql`
    insert into ${rawRecords} (tenant_id, prediction_id, record, stored_at)
    select value->>'$[0]', value->>'$[1]', value->>'$[2]', ${now}
    from json_each(${JSON.stringify(rows)}) where true
    on conflict do nothing`);
}

/** When each of the given predictions was last labeled (null: never); unknown ids are absent. */
export function labeledAtOf(tx: Tx, tenantId: string, predictionIds: string[]) {
  return tx
    .select({ predictionId: predictions.predictionId, labeledAt: predictions.labeledAt })
    .from(predictions)
    .where(and(eq(predictions.tenantId, tenantId), inArray(predictions.predictionId, predictionIds)));
}

/**
 * Per item [customerId, observedAt, index], the customer's latest prediction made at or before observedAt
 * and at most `windowMs` before it. A scalar subquery per item walks the customer's index backwards from
 * observedAt: one row read each.
 */
export function latestPredictionsOfCustomers(
  tx: Tx,
  tenantId: string,
  items: (readonly [string, number, number])[],
  windowMs: number,
) {
  return tx.all<{ i: number; predictionId: string | null }>(sql`
    select j.value->>'$[2]' as i, (
      select prediction_id from ${predictions}
      where tenant_id = ${tenantId} and customer_id = j.value->>'$[0]'
        and predicted_at <= j.value->>'$[1]'
        and predicted_at >= j.value->>'$[1]' - ${windowMs}
      order by predicted_at desc limit 1) as predictionId
    from json_each(${JSON.stringify(items)}) j`);
}

/** Sets [predictionId, label 0/1, labeledAt] on the tenant's predictions. */
export async function setLabels(
  tx: Tx,
  tenantId: string,
  updates: [string, number, number][],
): Promise<void> {
  // Materialised first, so SQLite loops over the updates and finds each row by its key, rather than
  // scanning the tenant's predictions once per update.
  await tx.run(sql`
    with u(id, label, at) as materialized (
      select value->>'$[0]', value->>'$[1]', value->>'$[2]'
      from json_each(${JSON.stringify(updates)}))
    update ${predictions} set label = u.label, labeled_at = u.at from u
    where ${predictions.tenantId} = ${tenantId} and ${predictions.predictionId} = u.id`);
}

export async function hasPendingFeedback(tx: Tx, tenantId: string): Promise<boolean> {
  const [any] = await tx
    .select({ one: sql<number>`1` })
    .from(pendingFeedback)
    .where(eq(pendingFeedback.tenantId, tenantId))
    .limit(1);
  return any !== undefined;
}

export function pendingForPredictions(tx: Tx, tenantId: string, predictionIds: string[]) {
  return tx
    .select()
    .from(pendingFeedback)
    .where(and(eq(pendingFeedback.tenantId, tenantId), inArray(pendingFeedback.predictionId, predictionIds)));
}

/** Pending items that name only a customer, for the given customers. */
export function pendingForCustomers(tx: Tx, tenantId: string, customerIds: string[]) {
  return tx
    .select()
    .from(pendingFeedback)
    .where(
      and(
        eq(pendingFeedback.tenantId, tenantId),
        isNull(pendingFeedback.predictionId),
        inArray(pendingFeedback.customerId, customerIds),
      ),
    );
}

export async function deletePendingItem(tx: Tx, eventId: string, position: number): Promise<void> {
  await tx
    .delete(pendingFeedback)
    .where(and(eq(pendingFeedback.eventId, eventId), eq(pendingFeedback.position, position)));
}
