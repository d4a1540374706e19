import { and, eq, inArray, or, type SQL, sql } from "drizzle-orm";
import type { ErasureRequest } from "#shared/erasure.ts";
import type { Tx } from "../../../platform/db/client.ts";
import { pendingFeedback, predictions, rawRecords } from "../../../platform/db/schema/index.ts";

/**
 * Deletes everything stored about one customer (or a list of predictions) in the tenant, inside the
 * caller's transaction, and says how many rows of each kind went.
 */
export async function deleteCustomerRows(
  tx: Tx,
  tenantId: string,
  request: ErasureRequest,
): Promise<{ predictions: number; rawRecords: number; pendingFeedback: number }> {
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
    );
  return {
    predictions: scored.rowsAffected,
    rawRecords: raw.rowsAffected,
    pendingFeedback: pending.rowsAffected,
  };
}
