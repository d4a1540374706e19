import { and, eq, inArray, or, type SQL, sql } from "drizzle-orm";
import type { ErasureRequest, ErasureResult } from "#shared/erasure.ts";
import { newId } from "#shared/ids.ts";
import type { Db } from "../../platform/db/client.ts";
import { pendingFeedback, predictions, rawRecords } from "../../platform/db/schema/index.ts";
import { type AuditContext, appendAudit } from "../audit/audit.ts";

/**
 * Erases what monitoring stores about one customer of the tenant, in one transaction: their scored
 * predictions (with the outcomes joined to them), their raw records and the outcomes still waiting for a
 * prediction. The audit entry records who erased and how many rows, never the customer's id.
 * Hourly aggregates are anonymous counts and stay; `ingested_events` keeps no customer ids.
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
  // The customer's predictions, as a subquery so a long history is never pulled into memory.
  const predictionIdsOf: SQL = byCustomer
    ? sql`(select ${predictions.predictionId} from ${predictions} where ${predictions.tenantId} = ${tenantId} and ${predictions.customerId} = ${request.customerId})`
    : sql`(${sql.join(
        request.predictionIds.map((id) => sql`${id}`),
        sql`, `,
      )})`;
  const deleted = await db.transaction(
    async (tx) => {
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
      const counts = {
        predictions: scored.rowsAffected,
        rawRecords: raw.rowsAffected,
        pendingFeedback: pending.rowsAffected,
      };
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
    },
    { behavior: "immediate" },
  );
  return { erasureId, erasedAt: new Date(now).toISOString(), deleted };
}
