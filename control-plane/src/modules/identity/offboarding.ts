import { ChurnError } from "#shared/errors.ts";
import type { User } from "#shared/identity.ts";
import type { Db, Tx } from "../../platform/db/client.ts";
import type { UserRow } from "../../platform/db/schema/index.ts";
import { writeTransaction } from "../../platform/db/write-transaction.ts";
import { type AuditContext, appendAudit } from "../audit/audit.ts";
import type { Principal } from "./permissions.ts";
import { withdrawInvitations } from "./queries/invitations.ts";
import { revokeUserTokens } from "./queries/tokens.ts";
import { ownerCount, tenantUser, updateUser } from "./queries/users.ts";
import { assertMayActOnRole } from "./role-grants.ts";
import { toUser } from "./user-view.ts";

/**
 * Cutting a person off. Every personal access token a person holds (console sessions are tokens too) is
 * checked against the database on each request, so revoking them, or disabling the user, takes effect on
 * the next request everywhere; the edge never accepts personal tokens at all. Only API clients' JWTs
 * reach the edge, and those belong to clients, not people (revoke a client separately).
 */

/** Loads the target and checks the actor may act on them: not themselves, and no more powerful. */
async function target(tx: Tx, actor: Principal, userId: string, verb: string): Promise<UserRow> {
  const row = await tenantUser(tx, actor.tenantId, userId);
  if (!row || row.deletedAt !== null) throw new ChurnError("NOT_FOUND", `User '${userId}' not found`);
  if (actor.kind === "user" && actor.id === row.id)
    throw new ChurnError("CONFLICT", `You cannot ${verb} yourself; ask another owner or admin`);
  assertMayActOnRole(actor, row.role, `${verb} a user holding`);
  return row;
}

async function revokeAll(tx: Tx, audit: AuditContext, row: UserRow, now: number): Promise<number> {
  const revoked = await revokeUserTokens(tx, row.id, now);
  await appendAudit(tx, audit, {
    tenantId: row.tenantId,
    action: "user.tokens_revoke",
    targets: [{ type: "user", id: row.id }],
    details: { revoked },
  });
  return revoked;
}

/** Revokes every personal access token and console session of the user; they can mint new ones. */
export function revokeAllUserTokens(
  db: Db,
  audit: AuditContext,
  actor: Principal,
  userId: string,
): Promise<number> {
  return writeTransaction(db, async (tx) =>
    revokeAll(tx, audit, await target(tx, actor, userId, "revoke the tokens of"), Date.now()),
  );
}

async function disable(
  tx: Tx,
  audit: AuditContext,
  actor: Principal,
  row: UserRow,
  now: number,
): Promise<void> {
  if (row.disabledAt !== null) return;
  if (row.role === "owner" && (await ownerCount(tx, actor.tenantId)) <= 1)
    throw new ChurnError(
      "CONFLICT",
      "The tenant's last owner cannot be disabled; make another user an owner first",
    );
  await updateUser(tx, row.id, { disabledAt: now });
  await withdrawInvitations(tx, row.id, now);
  await appendAudit(tx, audit, {
    tenantId: row.tenantId,
    action: "user.disable",
    targets: [{ type: "user", id: row.id }],
    details: { role: row.role },
  });
  await revokeAll(tx, audit, row, now);
}

/** Disables the user: no token or session of theirs authenticates again, and none can be minted. */
export function disableUser(db: Db, audit: AuditContext, actor: Principal, userId: string): Promise<User> {
  return writeTransaction(db, async (tx) => {
    const row = await target(tx, actor, userId, "disable");
    const now = Date.now();
    await disable(tx, audit, actor, row, now);
    return toUser({ ...row, disabledAt: row.disabledAt ?? now });
  });
}

/**
 * Deletes the user: disabled as above, and the email and name replaced, so the address can be invited
 * again and the person's details leave the tenant. The row stays, because the audit log names its id.
 */
export function deleteUser(db: Db, audit: AuditContext, actor: Principal, userId: string): Promise<void> {
  return writeTransaction(db, async (tx) => {
    const row = await target(tx, actor, userId, "delete");
    const now = Date.now();
    await disable(tx, audit, actor, row, now);
    await updateUser(tx, row.id, {
      deletedAt: now,
      email: `deleted+${row.id}@users.invalid`,
      name: "Deleted user",
    });
    await appendAudit(tx, audit, {
      tenantId: row.tenantId,
      action: "user.delete",
      targets: [{ type: "user", id: row.id }],
      details: { role: row.role },
    });
  });
}
