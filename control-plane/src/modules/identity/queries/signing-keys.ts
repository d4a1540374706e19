import { and, desc, eq, isNotNull, isNull, ne } from "drizzle-orm";
import type { DbOrTx } from "../../../platform/db/client.ts";
import { signingKeys } from "../../../platform/db/schema/index.ts";

/** The platform's token-signing keys (not per tenant): at most one active, retired ones kept a while. */

export async function activeKeyRow(db: DbOrTx) {
  const [row] = await db
    .select()
    .from(signingKeys)
    .where(and(isNull(signingKeys.retiredAt), isNotNull(signingKeys.activatedAt)))
    .orderBy(desc(signingKeys.activatedAt))
    .limit(1);
  return row;
}

export async function insertKey(tx: DbOrTx, row: typeof signingKeys.$inferInsert): Promise<void> {
  await tx.insert(signingKeys).values(row);
}

/** Keys not yet retired, other than `kid`. */
export function unretiredKeysExcept(tx: DbOrTx, kid: string) {
  return tx
    .select({ kid: signingKeys.kid })
    .from(signingKeys)
    .where(and(isNull(signingKeys.retiredAt), ne(signingKeys.kid, kid)));
}

export async function setKeyTimes(
  tx: DbOrTx,
  kid: string,
  times: { activatedAt?: number; retiredAt?: number | null },
): Promise<void> {
  await tx.update(signingKeys).set(times).where(eq(signingKeys.kid, kid));
}

/** Every key's public half and when it was retired. */
export function publicKeys(db: DbOrTx) {
  return db.select({ publicJwk: signingKeys.publicJwk, retiredAt: signingKeys.retiredAt }).from(signingKeys);
}
