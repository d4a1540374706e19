import { and, eq, lt } from "drizzle-orm";
import type { DbOrTx } from "../client.ts";
import { type IdempotencyKeyRow, idempotencyKeys } from "../schema/index.ts";

/** Idempotency keys, per tenant and caller (platform/idempotency.ts decides what they mean). */

export interface KeyScope {
  tenantId: string;
  principal: string;
  key: string;
}

const where = (s: KeyScope) =>
  and(
    eq(idempotencyKeys.tenantId, s.tenantId),
    eq(idempotencyKeys.principal, s.principal),
    eq(idempotencyKeys.key, s.key),
  );

export async function keyRow(tx: DbOrTx, scope: KeyScope): Promise<IdempotencyKeyRow | undefined> {
  const [row] = await tx.select().from(idempotencyKeys).where(where(scope)).limit(1);
  return row;
}

export async function deleteKey(tx: DbOrTx, scope: KeyScope, onlyStatus?: number): Promise<void> {
  await tx
    .delete(idempotencyKeys)
    .where(
      onlyStatus === undefined ? where(scope) : and(where(scope), eq(idempotencyKeys.status, onlyStatus)),
    );
}

export async function deleteKeysBefore(tx: DbOrTx, createdBefore: number): Promise<void> {
  await tx.delete(idempotencyKeys).where(lt(idempotencyKeys.createdAt, createdBefore));
}

export async function insertKey(tx: DbOrTx, row: IdempotencyKeyRow): Promise<void> {
  await tx.insert(idempotencyKeys).values(row);
}

export async function updateKey(
  tx: DbOrTx,
  scope: KeyScope,
  fields: Pick<IdempotencyKeyRow, "status" | "body" | "resourceId">,
): Promise<void> {
  await tx.update(idempotencyKeys).set(fields).where(where(scope));
}
