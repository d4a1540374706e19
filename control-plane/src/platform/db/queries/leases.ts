import { and, eq, lt, or, sql } from "drizzle-orm";
import type { DbOrTx } from "../client.ts";
import { leases } from "../schema/index.ts";

/**
 * Takes the lease for `holder` when it is free, expired or already its own, in one upsert; returns whether
 * `holder` holds it now, until `expiresAt`.
 */
export async function takeLease(
  tx: DbOrTx,
  name: string,
  holder: string,
  now: number,
  expiresAt: number,
): Promise<boolean> {
  const rows = await tx
    .insert(leases)
    .values({ name, holder, expiresAt, acquiredAt: now })
    .onConflictDoUpdate({
      target: leases.name,
      set: {
        holder,
        expiresAt,
        // When the holder changes, the lease was acquired now; a renewal keeps the original time.
        acquiredAt: sql`case when ${leases.holder} = ${holder} then ${leases.acquiredAt} else ${now} end`,
      },
      setWhere: or(eq(leases.holder, holder), lt(leases.expiresAt, now)),
    })
    .returning({ holder: leases.holder });
  return rows.length === 1 && rows[0]!.holder === holder;
}

export async function dropLease(tx: DbOrTx, name: string, holder: string): Promise<void> {
  await tx.delete(leases).where(and(eq(leases.name, name), eq(leases.holder, holder)));
}
