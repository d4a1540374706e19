import { and, desc, eq, gt, isNull, sql } from "drizzle-orm";
import type { Db, DbOrTx } from "../../../platform/db/client.ts";
import { preparedPerDatabase } from "../../../platform/db/prepared.ts";
import {
  type PersonalAccessTokenRow,
  personalAccessTokens,
  tenants,
  users,
} from "../../../platform/db/schema/index.ts";

/** Personal access tokens' rows: stored by the sha256 of the token, never the token itself. */

export async function insertToken(tx: DbOrTx, row: typeof personalAccessTokens.$inferInsert): Promise<void> {
  await tx.insert(personalAccessTokens).values(row);
}

export async function tokenById(tx: DbOrTx, id: string): Promise<PersonalAccessTokenRow | undefined> {
  const [row] = await tx.select().from(personalAccessTokens).where(eq(personalAccessTokens.id, id));
  return row;
}

/** One person's token by id; another person's id finds nothing. */
export async function ownedToken(
  tx: DbOrTx,
  owner: { tenantId: string; userId: string },
  id: string,
): Promise<PersonalAccessTokenRow | undefined> {
  const [row] = await tx
    .select()
    .from(personalAccessTokens)
    .where(
      and(
        eq(personalAccessTokens.id, id),
        eq(personalAccessTokens.tenantId, owner.tenantId),
        eq(personalAccessTokens.userId, owner.userId),
      ),
    )
    .limit(1);
  return row;
}

/** One person's tokens, newest first. */
export function ownedTokens(
  db: DbOrTx,
  owner: { tenantId: string; userId: string },
): Promise<PersonalAccessTokenRow[]> {
  return db
    .select()
    .from(personalAccessTokens)
    .where(
      and(eq(personalAccessTokens.tenantId, owner.tenantId), eq(personalAccessTokens.userId, owner.userId)),
    )
    .orderBy(desc(personalAccessTokens.createdAt), desc(personalAccessTokens.id));
}

export async function markTokenRevoked(tx: DbOrTx, id: string, revokedAt: number): Promise<void> {
  await tx.update(personalAccessTokens).set({ revokedAt }).where(eq(personalAccessTokens.id, id));
}

/**
 * The live token with this hash (not revoked, not expired) and its person and tenant: what the API's
 * bearer check and the console's session check both read on every request.
 */
export const liveTokenByHash = preparedPerDatabase((db: Db) =>
  db
    .select({
      tokenId: personalAccessTokens.id,
      expiresAt: personalAccessTokens.expiresAt,
      user: {
        id: users.id,
        tenantId: users.tenantId,
        email: users.email,
        name: users.name,
        role: users.role,
      },
      tenantName: tenants.name,
    })
    .from(personalAccessTokens)
    .innerJoin(users, eq(users.id, personalAccessTokens.userId))
    .innerJoin(tenants, eq(tenants.id, users.tenantId))
    .where(
      and(
        eq(personalAccessTokens.tokenHash, sql.placeholder("tokenHash")),
        isNull(personalAccessTokens.revokedAt),
        gt(personalAccessTokens.expiresAt, sql.placeholder("now")),
        isNull(users.disabledAt),
      ),
    )
    .limit(1)
    .prepare(),
);

/** A row of liveTokenByHash. */
export type LiveToken = Awaited<ReturnType<ReturnType<typeof liveTokenByHash>["all"]>>[number];

/** Revokes every live token of the user (sessions included); returns how many. */
export async function revokeUserTokens(tx: DbOrTx, userId: string, now: number): Promise<number> {
  const revoked = await tx
    .update(personalAccessTokens)
    .set({ revokedAt: now })
    .where(and(eq(personalAccessTokens.userId, userId), isNull(personalAccessTokens.revokedAt)))
    .returning({ id: personalAccessTokens.id });
  return revoked.length;
}
