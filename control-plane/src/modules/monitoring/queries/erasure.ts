import { and, eq, inArray, or, type SQL, sql } from "drizzle-orm";
import type { ErasureRequest } from "#shared/erasure.ts";
import type { Tx } from "../../../platform/db/client.ts";
import {
  erasureTombstones,
  pendingFeedback,
  predictions,
  rawRecords,
} from "../../../platform/db/schema/index.ts";

/**
 * Deletes everything stored about one customer (or a list of predictions) in the tenant, inside the
 * caller's transaction, and says how many rows of each kind went and which predictions.
 */
export async function deleteCustomerRows(
  tx: Tx,
  tenantId: string,
  request: ErasureRequest,
): Promise<{
  counts: { predictions: number; rawRecords: number; pendingFeedback: number };
  predictionIds: string[];
}> {
  const byCustomer = "customerId" in request;
  // The customer's predictions, as a subquery so a long history is never pulled into memory.
  const predictionIdsOf: SQL = byCustomer
    ? sql`(select ${predictions.predictionId} from ${predictions} where ${predictions.tenantId} = ${tenantId} and ${predictions.customerId} = ${request.customerId})`
    : sql`(${sql.join(
        request.predictionIds.map((id) => sql`${id}`),
        sql`, `,
      )})`;
  const raw = await tx.delete(rawRecords).where(
    and(
      eq(rawRecords.tenantId, tenantId),
      or(
        sql`${rawRecords.predictionId} in ${predictionIdsOf}`,
        // A raw record whose prediction row is already gone still names its customer.
        byCustomer
          ? sql`json_extract(${rawRecords.record}, '$.customerId') = ${request.customerId}`
          : undefined,
      ),
    ),
  );
  const pending = await tx
    .delete(pendingFeedback)
    .where(
      and(
        eq(pendingFeedback.tenantId, tenantId),
        or(
          sql`${pendingFeedback.predictionId} in ${predictionIdsOf}`,
          byCustomer ? eq(pendingFeedback.customerId, request.customerId) : undefined,
        ),
      ),
    );
  // Last: the two deletes above select through these rows.
  const scored = await tx
    .delete(predictions)
    .where(
      and(
        eq(predictions.tenantId, tenantId),
        byCustomer
          ? eq(predictions.customerId, request.customerId)
          : inArray(predictions.predictionId, request.predictionIds),
      ),
    )
    // Only the ids come back: each gets a tombstone, for outcomes still queued that name just the prediction.
    .returning({ predictionId: predictions.predictionId });
  return {
    counts: {
      predictions: scored.length,
      rawRecords: raw.rowsAffected,
      pendingFeedback: pending.rowsAffected,
    },
    predictionIds: scored.map((s) => s.predictionId),
  };
}

/** Tombstone rows per INSERT: four parameters each, well under SQLite's bound-parameter limit. */
const TOMBSTONE_CHUNK = 250;
/** Subject hashes per lookup. */
const LOOKUP_CHUNK = 500;

/**
 * Records (or moves forward) the tombstones of erased subjects; a subject erased again keeps its latest
 * erasure, so events made between two erasures are dropped too.
 */
export async function upsertTombstones(
  tx: Tx,
  rows: (typeof erasureTombstones.$inferInsert)[],
): Promise<void> {
  for (let i = 0; i < rows.length; i += TOMBSTONE_CHUNK) {
    await tx
      .insert(erasureTombstones)
      .values(rows.slice(i, i + TOMBSTONE_CHUNK))
      .onConflictDoUpdate({
        target: [erasureTombstones.tenantId, erasureTombstones.subjectHash],
        set: {
          erasureId: sql`case when excluded.erased_at >= ${erasureTombstones.erasedAt} then excluded.erasure_id else ${erasureTombstones.erasureId} end`,
          erasedAt: sql`max(${erasureTombstones.erasedAt}, excluded.erased_at)`,
        },
      });
  }
}

/** Of the given tenants, those with any tombstone: ingest looks no further for the others. */
export async function tenantsWithTombstones(tx: Tx, tenantIds: string[]): Promise<Set<string>> {
  if (tenantIds.length === 0) return new Set();
  const rows = await tx
    .selectDistinct({ tenantId: erasureTombstones.tenantId })
    .from(erasureTombstones)
    .where(inArray(erasureTombstones.tenantId, tenantIds));
  return new Set(rows.map((r) => r.tenantId));
}

/** The erasure time of each given subject hash of the tenant that has a tombstone. */
export async function erasedAtOf(tx: Tx, tenantId: string, hashes: string[]): Promise<Map<string, number>> {
  const found = new Map<string, number>();
  for (let i = 0; i < hashes.length; i += LOOKUP_CHUNK) {
    const rows = await tx
      .select({ subjectHash: erasureTombstones.subjectHash, erasedAt: erasureTombstones.erasedAt })
      .from(erasureTombstones)
      .where(
        and(
          eq(erasureTombstones.tenantId, tenantId),
          inArray(erasureTombstones.subjectHash, hashes.slice(i, i + LOOKUP_CHUNK)),
        ),
      );
    for (const r of rows) found.set(r.subjectHash, r.erasedAt);
  }
  return found;
}
