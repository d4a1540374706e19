import { and, eq, lte } from "drizzle-orm";
import type { DbOrTx, Tx } from "../../../platform/db/client.ts";
import { type SamlProviderRow, samlProviders } from "../../../platform/db/schema/saml_providers/index.ts";
import { samlUsedIds } from "../../../platform/db/schema/saml_used_ids/index.ts";

/** A tenant's SAML identity provider settings (one row per tenant), and the message ids it has used up. */

export async function samlProviderOf(db: DbOrTx, tenantId: string): Promise<SamlProviderRow | undefined> {
  const [row] = await db.select().from(samlProviders).where(eq(samlProviders.tenantId, tenantId)).limit(1);
  return row;
}

export async function saveSamlProvider(tx: DbOrTx, row: SamlProviderRow): Promise<void> {
  const { tenantId: _, createdAt: __, createdBy: ___, ...changes } = row;
  await tx
    .insert(samlProviders)
    .values(row)
    .onConflictDoUpdate({ target: samlProviders.tenantId, set: changes });
}

/**
 * Records `usedId` for the tenant unless it is already there, in one statement, so of two concurrent
 * copies of a message exactly one gets `true`. The tenant's expired ids go first: they can never match a
 * message that is still valid.
 */
export async function useIdOnce(
  tx: Tx,
  tenantId: string,
  usedId: string,
  expiresAt: number,
): Promise<boolean> {
  const now = Date.now();
  await tx
    .delete(samlUsedIds)
    .where(and(eq(samlUsedIds.tenantId, tenantId), lte(samlUsedIds.expiresAt, now)));
  const inserted = await tx
    .insert(samlUsedIds)
    .values({ tenantId, usedId, expiresAt })
    .onConflictDoNothing()
    .returning({ usedId: samlUsedIds.usedId });
  return inserted.length === 1;
}
