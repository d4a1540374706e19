import { and, eq, gt, isNull } from "drizzle-orm";
import type { DbOrTx } from "../../../platform/db/client.ts";
import { type InvitationRow, invitations } from "../../../platform/db/schema/index.ts";

/** Invitations to redeem; a code is looked up by its sha256 across tenants (it names its own). */

export async function insertInvitation(tx: DbOrTx, row: typeof invitations.$inferInsert): Promise<void> {
  await tx.insert(invitations).values(row);
}

/** The invitation a code names, if it is still open: not redeemed, withdrawn or expired. */
export async function openInvitationByHash(
  tx: DbOrTx,
  codeHash: string,
  now: number,
): Promise<InvitationRow | undefined> {
  const [row] = await tx
    .select()
    .from(invitations)
    .where(
      and(
        eq(invitations.codeHash, codeHash),
        isNull(invitations.redeemedAt),
        isNull(invitations.withdrawnAt),
        gt(invitations.expiresAt, now),
      ),
    )
    .limit(1);
  return row;
}

export async function markRedeemed(tx: DbOrTx, id: string, now: number): Promise<void> {
  await tx.update(invitations).set({ redeemedAt: now }).where(eq(invitations.id, id));
}

/** Withdraws the user's open invitations (a newer one replaces them, or the user is offboarded). */
export async function withdrawInvitations(tx: DbOrTx, userId: string, now: number): Promise<void> {
  await tx
    .update(invitations)
    .set({ withdrawnAt: now })
    .where(
      and(eq(invitations.userId, userId), isNull(invitations.redeemedAt), isNull(invitations.withdrawnAt)),
    );
}
