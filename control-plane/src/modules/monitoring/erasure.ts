import type { ErasureRequest, ErasureResult } from "#shared/erasure.ts";
import { newId } from "#shared/ids.ts";
import type { Db } from "../../platform/db/client.ts";
import { writeTransaction } from "../../platform/db/write-transaction.ts";
import { type AuditContext, appendAudit } from "../audit/audit.ts";
import { subjectHash } from "./erasure-tombstones.ts";
import { deleteCustomerRows, upsertTombstones } from "./queries/erasure.ts";

/**
 * Erases what monitoring stores about one customer of the tenant, in one transaction: their scored
 * predictions (with the outcomes joined to them), their raw records and the outcomes still waiting for a
 * prediction. The audit entry records who erased and how many rows, never the customer's id.
 * Hourly aggregates are anonymous counts and stay; `ingested_events` keeps no customer ids.
 * A tombstone per erased customer (or prediction id) holds a hash of it and `now`, so that ingest drops
 * their events made until now that are still in the edge's queue (`screenErasedItems`). The customer's
 * deleted predictions get one each too: an outcome still queued may name only the prediction.
 */
export async function eraseCustomerData(
  db: Db,
  audit: AuditContext,
  tenantId: string,
  request: ErasureRequest,
  now = Date.now(),
): Promise<ErasureResult> {
  const erasureId = newId("erasure");
  const byCustomer = "customerId" in request;
  const deleted = await writeTransaction(db, async (tx) => {
    const { counts, predictionIds } = await deleteCustomerRows(tx, tenantId, request);
    const erasedPredictions = new Set([...predictionIds, ...(byCustomer ? [] : request.predictionIds)]);
    const subjects = [
      ...(byCustomer ? [subjectHash(tenantId, "customer", request.customerId)] : []),
      ...[...erasedPredictions].map((id) => subjectHash(tenantId, "prediction", id)),
    ];
    await upsertTombstones(
      tx,
      subjects.map((hash) => ({ tenantId, subjectHash: hash, erasureId, erasedAt: now })),
    );
    await appendAudit(tx, audit, {
      tenantId,
      action: "customer.erase",
      targets: [{ type: "erasure", id: erasureId }],
      details: {
        by: byCustomer ? "customerId" : "predictionIds",
        ...(byCustomer ? {} : { predictionIds: request.predictionIds.length }),
        deleted: counts,
      },
    });
    return counts;
  });
  return { erasureId, erasedAt: new Date(now).toISOString(), deleted };
}
