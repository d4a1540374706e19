import { and, eq, inArray, lt, sql } from "drizzle-orm";
import type { DbOrTx } from "../../../platform/db/client.ts";
import { authFailures } from "../../../platform/db/schema/index.ts";

/** Failed client-secret checks by (client id, source address); see the table's comment. */

export interface FailureCount {
  clientId: string;
  failures: number;
  windowStart: number;
}

/** The counts for `source` against each of `clientIds` (a client id and the source-wide '*'). */
export function failureCounts(db: DbOrTx, source: string, clientIds: string[]): Promise<FailureCount[]> {
  return db
    .select({
      clientId: authFailures.clientId,
      failures: authFailures.failures,
      windowStart: authFailures.windowStart,
    })
    .from(authFailures)
    .where(and(eq(authFailures.source, source), inArray(authFailures.clientId, clientIds)));
}

/** Counts one failure, starting a fresh window when the stored one has ended. */
export async function countFailure(
  tx: DbOrTx,
  clientId: string,
  source: string,
  now: number,
  windowMs: number,
): Promise<void> {
  const ended = sql`${authFailures.windowStart} <= ${now - windowMs}`;
  await tx
    .insert(authFailures)
    .values({ clientId, source, failures: 1, windowStart: now })
    .onConflictDoUpdate({
      target: [authFailures.clientId, authFailures.source],
      set: {
        failures: sql`case when ${ended} then 1 else ${authFailures.failures} + 1 end`,
        windowStart: sql`case when ${ended} then ${now} else ${authFailures.windowStart} end`,
      },
    });
}

export async function clearFailures(tx: DbOrTx, clientId: string, source: string): Promise<void> {
  await tx
    .delete(authFailures)
    .where(and(eq(authFailures.clientId, clientId), eq(authFailures.source, source)));
}

/** Drops windows that ended before `before`; they no longer refuse anything. */
export async function pruneFailures(tx: DbOrTx, before: number): Promise<number> {
  const gone = await tx
    .delete(authFailures)
    .where(lt(authFailures.windowStart, before))
    .returning({ clientId: authFailures.clientId });
  return gone.length;
}
