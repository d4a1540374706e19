import { ChurnError } from "#shared/errors.ts";
import type { PersonalAccessTokenInfo, Role, User } from "#shared/identity.ts";
import { newId } from "#shared/ids.ts";
import { toIso } from "#shared/time.ts";
import type { Db, DbOrTx } from "../../platform/db/client.ts";
import type { UserRow } from "../../platform/db/schema/index.ts";
import { writeTransaction } from "../../platform/db/write-transaction.ts";
import { type AuditContext, appendAudit } from "../audit/audit.ts";
import { createPat } from "./pat.ts";
import { emailTaken, insertUser, ownerCount, setUserRole, tenantUser, tenantUsers } from "./queries/users.ts";

/** A new user's first personal access token lives 30 days: long enough to set up, short if forgotten. */
const FIRST_TOKEN_TTL_DAYS = 30;

export function toUser(row: UserRow): User {
  return {
    id: row.id,
    email: row.email,
    name: row.name,
    role: row.role,
    oidc:
      row.oidcIssuer !== null && row.oidcSubject !== null
        ? { issuer: row.oidcIssuer, subject: row.oidcSubject }
        : null,
    createdAt: toIso(row.createdAt),
  };
}

export async function listUsers(db: Db, tenantId: string): Promise<User[]> {
  return (await tenantUsers(db, tenantId)).map(toUser);
}

/** This tenant's user; an unknown id and another tenant's id are the same 404. */
async function getTenantUser(db: DbOrTx, tenantId: string, userId: string): Promise<UserRow> {
  const row = await tenantUser(db, tenantId, userId);
  if (!row) throw new ChurnError("NOT_FOUND", `User '${userId}' not found`);
  return row;
}

/**
 * Adds a person with a role and returns their first personal access token (shown once). Emails are unique
 * per tenant, compared case-insensitively.
 */
export async function createUser(
  db: Db,
  audit: AuditContext,
  input: { tenantId: string; email: string; name?: string | undefined; role: Role },
): Promise<{ user: User; token: PersonalAccessTokenInfo & { token: string } }> {
  const email = input.email.trim().toLowerCase();
  return writeTransaction(db, async (tx) => {
    if (await emailTaken(tx, input.tenantId, email))
      throw new ChurnError("CONFLICT", `A user with email '${email}' already exists`);
    const row: UserRow = {
      id: newId("user"),
      tenantId: input.tenantId,
      email,
      name: input.name ?? email,
      role: input.role,
      oidcIssuer: null,
      oidcSubject: null,
      createdAt: Date.now(),
    };
    await insertUser(tx, row);
    await appendAudit(tx, audit, {
      tenantId: input.tenantId,
      action: "user.create",
      targets: [{ type: "user", id: row.id }],
      details: { role: input.role },
    });
    const pat = await createPat(tx, {
      tenantId: input.tenantId,
      userId: row.id,
      name: "default",
      ttlDays: FIRST_TOKEN_TTL_DAYS,
    });
    await appendAudit(tx, audit, {
      tenantId: input.tenantId,
      action: "pat.create",
      targets: [{ type: "pat", id: pat.id }],
      details: { userId: row.id, name: "default" },
    });
    return {
      user: toUser(row),
      token: {
        id: pat.id,
        name: "default",
        createdAt: toIso(row.createdAt),
        expiresAt: toIso(pat.expiresAt),
        revokedAt: null,
        token: pat.token,
      },
    };
  });
}

/**
 * Changes a user's role (audited with before and after). The tenant's last owner cannot be demoted, so a
 * tenant can never lose the one role that may change roles.
 */
export async function changeUserRole(
  db: Db,
  audit: AuditContext,
  tenantId: string,
  userId: string,
  role: Role,
): Promise<User> {
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
