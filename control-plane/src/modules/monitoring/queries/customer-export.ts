import { and, asc, eq, gt, or, type SQL, sql } from "drizzle-orm";
import type { DbOrTx } from "../../../platform/db/client.ts";
import {
  models,
  modelVersions,
  pendingFeedback,
  predictions,
  rawRecords,
} from "../../../platform/db/schema/index.ts";

/**
 * One customer's rows, a page at a time, each kind in a stable order with a keyset to resume after, so a
 * long history is never read whole. Every query is scoped by the tenant first.
 */

/** The customer's predictions after (predictedAt, predictionId), oldest first, with outcome and raw record. */
export function customerPredictionsPage(
  db: DbOrTx,
  tenantId: string,
  customerId: string,
  after: { predictedAt: number; predictionId: string } | null,
  limit: number,
) {
  return db
    .select({
      predictionId: predictions.predictionId,
      versionId: predictions.versionId,
      model: models.name,
      version: modelVersions.version,
      variant: predictions.variant,
      probability: predictions.probability,
      contact: predictions.contact,
      predictedAt: predictions.predictedAt,
      label: predictions.label,
      labeledAt: predictions.labeledAt,
      record: rawRecords.record,
      storedAt: rawRecords.storedAt,
    })
    .from(predictions)
    .leftJoin(
      rawRecords,
      and(
        eq(rawRecords.tenantId, predictions.tenantId),
        eq(rawRecords.predictionId, predictions.predictionId),
      ),
    )
    .leftJoin(
      modelVersions,
      and(eq(modelVersions.id, predictions.versionId), eq(modelVersions.tenantId, predictions.tenantId)),
    )
    .leftJoin(models, eq(models.id, modelVersions.modelId))
    .where(
      and(
        eq(predictions.tenantId, tenantId),
        eq(predictions.customerId, customerId),
        after
          ? or(
              gt(predictions.predictedAt, after.predictedAt),
              and(
                eq(predictions.predictedAt, after.predictedAt),
                gt(predictions.predictionId, after.predictionId),
              ),
            )
          : undefined,
      ),
    )
    .orderBy(asc(predictions.predictedAt), asc(predictions.predictionId))
    .limit(limit);
}

/** The customer's prediction ids, as a subquery (the erasure reaches pending outcomes the same way). */
const predictionIdsOf = (tenantId: string, customerId: string): SQL =>
  sql`(select ${predictions.predictionId} from ${predictions} where ${predictions.tenantId} = ${tenantId} and ${predictions.customerId} = ${customerId})`;

/** Outcomes waiting for a prediction that name the customer (or one of their predictions), after (eventId, position). */
export function customerPendingPage(
  db: DbOrTx,
  tenantId: string,
  customerId: string,
  after: { eventId: string; position: number } | null,
  limit: number,
) {
  return db
    .select({
      eventId: pendingFeedback.eventId,
      position: pendingFeedback.position,
      predictionId: pendingFeedback.predictionId,
      churned: pendingFeedback.churned,
      observedAt: pendingFeedback.observedAt,
      receivedAt: pendingFeedback.receivedAt,
    })
    .from(pendingFeedback)
    .where(
      and(
        eq(pendingFeedback.tenantId, tenantId),
        or(
          eq(pendingFeedback.customerId, customerId),
          sql`${pendingFeedback.predictionId} in ${predictionIdsOf(tenantId, customerId)}`,
        ),
        after
          ? or(
              gt(pendingFeedback.eventId, after.eventId),
              and(eq(pendingFeedback.eventId, after.eventId), gt(pendingFeedback.position, after.position)),
            )
          : undefined,
      ),
    )
    .orderBy(asc(pendingFeedback.eventId), asc(pendingFeedback.position))
    .limit(limit);
}

/**
 * Raw records whose own `customerId` field names the customer but whose prediction is not one of the
 * customer's (already gone, or stored without the id), after `afterPredictionId`. The tenant's raw records
 * are walked in key order from the cursor, so the whole export reads them once.
 */
export function customerOrphanRecordsPage(
  db: DbOrTx,
  tenantId: string,
  customerId: string,
  afterPredictionId: string | null,
  limit: number,
) {
  return db
    .select({
      predictionId: rawRecords.predictionId,
      record: rawRecords.record,
      storedAt: rawRecords.storedAt,
    })
    .from(rawRecords)
    .where(
      and(
        eq(rawRecords.tenantId, tenantId),
        afterPredictionId === null ? undefined : gt(rawRecords.predictionId, afterPredictionId),
        sql`json_extract(${rawRecords.record}, '$.customerId') = ${customerId}`,
        sql`not exists (select 1 from ${predictions} p where p.tenant_id = ${rawRecords.tenantId} and p.prediction_id = ${rawRecords.predictionId} and p.customer_id = ${customerId})`,
      ),
    )
    .orderBy(asc(rawRecords.predictionId))
    .limit(limit);
}
