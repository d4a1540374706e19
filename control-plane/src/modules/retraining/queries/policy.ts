import { and, desc, eq, isNotNull } from "drizzle-orm";
import type { DbOrTx } from "../../../platform/db/client.ts";
import { predictions, rawRecords, retrainingPolicies } from "../../../platform/db/schema/index.ts";

/** A tenant's retraining policy row, and the labeled records its jobs train on. */

export async function policyRow(db: DbOrTx, tenantId: string) {
  const [row] = await db
    .select()
    .from(retrainingPolicies)
    .where(eq(retrainingPolicies.tenantId, tenantId))
    .limit(1);
  return row;
}

export async function upsertPolicy(tx: DbOrTx, row: typeof retrainingPolicies.$inferInsert): Promise<void> {
  const { tenantId: _, ...set } = row;
  await tx
    .insert(retrainingPolicies)
    .values(row)
    .onConflictDoUpdate({ target: retrainingPolicies.tenantId, set });
}

/** Stored raw records whose prediction has an outcome, newest first. */
export function labeledRecordRows(db: DbOrTx, tenantId: string, limit: number) {
  return db
    .select({ record: rawRecords.record, label: predictions.label })
    .from(rawRecords)
    .innerJoin(
      predictions,
      and(
        eq(predictions.tenantId, rawRecords.tenantId),
        eq(predictions.predictionId, rawRecords.predictionId),
      ),
    )
    .where(and(eq(rawRecords.tenantId, tenantId), isNotNull(predictions.label)))
    .orderBy(desc(rawRecords.storedAt))
    .limit(limit);
}

export async function tenantsWithPolicy(db: DbOrTx): Promise<string[]> {
  return (await db.select({ tenantId: retrainingPolicies.tenantId }).from(retrainingPolicies)).map(
    (r) => r.tenantId,
  );
}

export async function setLastScheduledAt(tx: DbOrTx, tenantId: string, at: number): Promise<void> {
  await tx
    .update(retrainingPolicies)
    .set({ lastScheduledAt: at })
    .where(eq(retrainingPolicies.tenantId, tenantId));
}
