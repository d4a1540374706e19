import { randomBytes } from "node:crypto";
import { ChurnError } from "#shared/errors.ts";
import { sha256Hex } from "#shared/hash.ts";
import type { Invitation, PersonalAccessTokenInfo, User } from "#shared/identity.ts";
import { newId } from "#shared/ids.ts";
import { DAY_MS, toIso } from "#shared/time.ts";
import type { Db, DbOrTx } from "../../platform/db/client.ts";
import { writeTransaction } from "../../platform/db/write-transaction.ts";
import { type AuditContext, appendAudit } from "../audit/audit.ts";
import { createPat } from "./pat.ts";
import type { Principal } from "./permissions.ts";
import {
  insertInvitation,
  markRedeemed,
  openInvitationByHash,
  withdrawInvitations,
} from "./queries/invitations.ts";
import { tenantUser, updateUser } from "./queries/users.ts";
import { assertMayActOnRole } from "./role-grants.ts";
import { toUser } from "./user-view.ts";

const INVITATION_PREFIX = "churn_inv_";
/** Long enough to reach someone on leave for a week; the creator can send a fresh one any time. */
const INVITATION_TTL_DAYS = 7;
/** The first token lives 30 days: long enough to set up, short if forgotten. */
const FIRST_TOKEN_TTL_DAYS = 30;

/** Opens an invitation for the user (withdrawing any earlier one) and returns its code, shown once. */
export async function openInvitation(
  tx: DbOrTx,
  audit: AuditContext,
  user: { tenantId: string; id: string },
): Promise<Invitation> {
  const now = Date.now();
  await withdrawInvitations(tx, user.id, now);
  const code = INVITATION_PREFIX + randomBytes(32).toString("base64url");
  const id = newId("invitation");
  const expiresAt = now + INVITATION_TTL_DAYS * DAY_MS;
  await insertInvitation(tx, {
    id,
    tenantId: user.tenantId,
    userId: user.id,
    codeHash: await sha256Hex(code),
    expiresAt,
    createdAt: now,
  });
  await appendAudit(tx, audit, {
    tenantId: user.tenantId,
    action: "invitation.create",
    targets: [
      { type: "invitation", id },
      { type: "user", id: user.id },
    ],
    details: { expiresAt: toIso(expiresAt) },
  });
  return { id, code, expiresAt: toIso(expiresAt) };
}

/** A fresh invitation for a user who has not redeemed theirs (lost or expired); the old code stops working. */
export async function reinviteUser(
  db: Db,
  audit: AuditContext,
  actor: Principal,
  userId: string,
): Promise<Invitation> {
  return writeTransaction(db, async (tx) => {
    const row = await tenantUser(tx, actor.tenantId, userId);
    if (!row) throw new ChurnError("NOT_FOUND", `User '${userId}' not found`);
    assertMayActOnRole(actor, row.role, "invite someone to");
    if (row.activatedAt !== null || row.disabledAt !== null)
      throw new ChurnError(
        "CONFLICT",
        `User '${userId}' is ${toUser(row).status}: only invited users get invitations`,
      );
    return openInvitation(tx, audit, row);
  });
}

/**
 * Redeems an invitation code: the user becomes active and receives their first personal access token. A
 * code works once, within its week, and never for a disabled user; every failure is the same 401.
 */
export async function redeemInvitation(
  db: Db,
  request: Omit<AuditContext, "actor">,
  code: string,
): Promise<{ user: User; token: PersonalAccessTokenInfo & { token: string } }> {
  const codeHash = await sha256Hex(code.trim());
  return writeTransaction(db, async (tx) => {
    const now = Date.now();
    const invitation = await openInvitationByHash(tx, codeHash, now);
    const row = invitation ? await tenantUser(tx, invitation.tenantId, invitation.userId) : undefined;
    if (!invitation || !row || row.disabledAt !== null)
      throw new ChurnError(
        "UNAUTHORIZED",
        "That invitation is not valid: it may be mistyped, used, replaced or expired",
      );
    await markRedeemed(tx, invitation.id, now);
    await updateUser(tx, row.id, { activatedAt: now });
    const pat = await createPat(tx, {
      tenantId: row.tenantId,
      userId: row.id,
      name: "first",
      ttlDays: FIRST_TOKEN_TTL_DAYS,
    });
    const audit: AuditContext = { ...request, actor: { type: "user", id: row.id } };
    await appendAudit(tx, audit, {
      tenantId: row.tenantId,
      action: "invitation.redeem",
      targets: [
        { type: "invitation", id: invitation.id },
        { type: "pat", id: pat.id },
      ],
      details: {},
    });
    return {
      user: toUser({ ...row, activatedAt: now }),
      token: {
        id: pat.id,
        name: "first",
        createdAt: toIso(now),
        expiresAt: toIso(pat.expiresAt),
        revokedAt: null,
        token: pat.token,
      },
    };
  });
}
