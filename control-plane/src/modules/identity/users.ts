import { ChurnError } from "#shared/errors.ts";
import type { Invitation, Role, User } from "#shared/identity.ts";
import { newId } from "#shared/ids.ts";
import type { Db, DbOrTx } from "../../platform/db/client.ts";
import type { UserRow } from "../../platform/db/schema/index.ts";
import { writeTransaction } from "../../platform/db/write-transaction.ts";
import { type AuditContext, appendAudit } from "../audit/audit.ts";
import { openInvitation } from "./invitations.ts";
import type { Principal } from "./permissions.ts";
import { emailTaken, insertUser, ownerCount, setUserRole, tenantUser, tenantUsers } from "./queries/users.ts";
import { assertMayActOnRole } from "./role-grants.ts";
import { toUser } from "./user-view.ts";

export async function listUsers(db: Db, tenantId: string): Promise<User[]> {
  return (await tenantUsers(db, tenantId)).map(toUser);
}

/** This tenant's user; an unknown id and another tenant's id are the same 404. */
export async function getTenantUser(db: DbOrTx, tenantId: string, userId: string): Promise<UserRow> {
  const row = await tenantUser(db, tenantId, userId);
  if (!row) throw new ChurnError("NOT_FOUND", `User '${userId}' not found`);
  return row;
}

/**
 * Adds a person with a role and opens their invitation: the creator gets the invitation's code to hand
 * on, never a credential of the new user, and can only grant a role whose permissions they hold. Emails
 * are unique per tenant, compared case-insensitively.
 */
export async function createUser(
  db: Db,
  audit: AuditContext,
  actor: Principal,
  input: { email: string; name?: string | undefined; role: Role },
): Promise<{ user: User; invitation: Invitation }> {
  assertMayActOnRole(actor, input.role, "grant");
  const email = input.email.trim().toLowerCase();
  return writeTransaction(db, async (tx) => {
    if (await emailTaken(tx, actor.tenantId, email))
      throw new ChurnError("CONFLICT", `A user with email '${email}' already exists`);
    const row: UserRow = {
      id: newId("user"),
      tenantId: actor.tenantId,
      email,
      name: input.name ?? email,
      role: input.role,
      oidcIssuer: null,
      oidcSubject: null,
      createdAt: Date.now(),
      activatedAt: null,
      disabledAt: null,
      deletedAt: null,
    };
    await insertUser(tx, row);
    await appendAudit(tx, audit, {
      tenantId: actor.tenantId,
      action: "user.create",
      targets: [{ type: "user", id: row.id }],
      details: { role: input.role },
    });
    return { user: toUser(row), invitation: await openInvitation(tx, audit, row) };
  });
}

/**
 * Changes a user's role (audited with before and after). The tenant's last owner cannot be demoted, so a
 * tenant can never lose the one role that may change roles.
 */
export async function changeUserRole(
  db: Db,
  audit: AuditContext,
  actor: Principal,
  userId: string,
  role: Role,
): Promise<User> {
  assertMayActOnRole(actor, role, "grant");
  const tenantId = actor.tenantId;
  return writeTransaction(db, async (tx) => {
    const row = await getTenantUser(tx, tenantId, userId);
    if (row.role === "owner" && role !== "owner") {
      if ((await ownerCount(tx, tenantId)) <= 1) {
        throw new ChurnError(
          "CONFLICT",
          "The tenant's last owner cannot be demoted; make another user an owner first",
        );
      }
    }
    if (row.role !== role) {
      await setUserRole(tx, userId, role);
      await appendAudit(tx, audit, {
        tenantId,
        action: "user.update",
        targets: [{ type: "user", id: userId }],
        details: { from: { role: row.role }, to: { role } },
      });
    }
    return toUser({ ...row, role });
  });
}
