import { and, asc, count, eq, isNull } from "drizzle-orm";
import type { DbOrTx } from "../../../platform/db/client.ts";
import { type Role, tenants, type UserRow, users } from "../../../platform/db/schema/index.ts";

/** People and their tenants. Every lookup names the tenant. */

export async function insertTenant(tx: DbOrTx, row: typeof tenants.$inferInsert): Promise<void> {
  await tx.insert(tenants).values(row);
}

export function tenantUsers(db: DbOrTx, tenantId: string): Promise<UserRow[]> {
  return db
    .select()
    .from(users)
    .where(eq(users.tenantId, tenantId))
    .orderBy(asc(users.createdAt), asc(users.id));
}

export async function tenantUser(db: DbOrTx, tenantId: string, userId: string): Promise<UserRow | undefined> {
  const [row] = await db
    .select()
    .from(users)
    .where(and(eq(users.id, userId), eq(users.tenantId, tenantId)))
    .limit(1);
  return row;
}

/** Whether the tenant has a user with this (already normalised) email. */
export async function emailTaken(tx: DbOrTx, tenantId: string, email: string): Promise<boolean> {
  const [taken] = await tx
    .select({ id: users.id })
    .from(users)
    .where(and(eq(users.tenantId, tenantId), eq(users.email, email)))
    .limit(1);
  return taken !== undefined;
}

/** The tenant's user with this (already normalised) email. */
export async function tenantUserByEmail(
  tx: DbOrTx,
  tenantId: string,
  email: string,
): Promise<UserRow | undefined> {
  const [row] = await tx
    .select()
    .from(users)
    .where(and(eq(users.tenantId, tenantId), eq(users.email, email)))
    .limit(1);
  return row;
}

/** The user an OpenID Connect identity is linked to, in whichever tenant: (issuer, subject) is unique. */
export async function userByOidc(tx: DbOrTx, issuer: string, subject: string): Promise<UserRow | undefined> {
  const [row] = await tx
    .select()
    .from(users)
    .where(and(eq(users.oidcIssuer, issuer), eq(users.oidcSubject, subject)))
    .limit(1);
  return row;
}

export async function insertUser(tx: DbOrTx, row: typeof users.$inferInsert): Promise<void> {
  await tx.insert(users).values(row);
}

/** Owners who can still act: disabled and deleted owners do not count. */
export async function ownerCount(tx: DbOrTx, tenantId: string): Promise<number> {
  const [owners] = await tx
    .select({ n: count() })
    .from(users)
    .where(and(eq(users.tenantId, tenantId), eq(users.role, "owner"), isNull(users.disabledAt)));
  return owners?.n ?? 0;
}

export async function updateUser(
  tx: DbOrTx,
  userId: string,
  fields: Partial<
    Pick<
      UserRow,
      "activatedAt" | "disabledAt" | "deletedAt" | "email" | "name" | "oidcIssuer" | "oidcSubject"
    >
  >,
): Promise<void> {
  await tx.update(users).set(fields).where(eq(users.id, userId));
}

export async function setUserRole(tx: DbOrTx, userId: string, role: Role): Promise<void> {
  await tx.update(users).set({ role }).where(eq(users.id, userId));
}
