import { ChurnError } from "#shared/errors.ts";
import type { Role } from "#shared/identity.ts";
import { newId } from "#shared/ids.ts";
import type { Db, Tx } from "../../platform/db/client.ts";
import type { UserRow } from "../../platform/db/schema/index.ts";
import { writeTransaction } from "../../platform/db/write-transaction.ts";
import { type AuditContext, appendAudit } from "../audit/audit.ts";
import { withdrawInvitations } from "./queries/invitations.ts";
import {
  insertUser,
  ownerCount,
  setUserRole,
  tenantUserByEmail,
  updateUser,
  userByOidc,
} from "./queries/users.ts";

/** A person the tenant's identity provider vouched for, with the role its groups grant in the tenant. */
export interface FederatedIdentity {
  issuer: string;
  subject: string;
  /** Only an address the provider verified; linking and creating users need one. */
  verifiedEmail: string | null;
  name: string | null;
  role: Role;
}

export interface FederatedSignIn {
  user: UserRow;
  /** How the person was found: already linked, linked now by verified email, or created just in time. */
  via: "linked" | "email" | "created";
}

const refused = (message: string) => new ChurnError("FORBIDDEN", message);

/** Disabled and deleted users stay out, whichever way they were found. */
function assertMaySignIn(row: UserRow): void {
  if (row.deletedAt !== null || row.disabledAt !== null)
    throw refused("This account is disabled in this tenant: ask an owner or admin to restore your access");
}

/**
 * Finds or creates the tenant's user for a verified identity at the tenant's provider, in one transaction:
 * by (issuer, subject) first; else an invited or active user with the same verified email, whom it links;
 * else a new active user with the mapped role. The provider's groups are authoritative: a role that differs
 * from the mapped one changes (audited), except that the tenant's last owner is never demoted this way.
 * Every sign-in is audited as `user.sso_sign_in`, with the person as the actor.
 */
export function signInFederatedUser(
  db: Db,
  request: Omit<AuditContext, "actor">,
  tenantId: string,
  identity: FederatedIdentity,
): Promise<FederatedSignIn> {
  return writeTransaction(db, async (tx) => {
    const now = Date.now();
    const found = await findUser(tx, tenantId, identity);
    const row = found?.row ?? (await createUser(tx, request, tenantId, identity, now));
    const via = found?.via ?? "created";
    const audit: AuditContext = { ...request, actor: { type: "user", id: row.id } };
    if (via === "email") {
      await updateUser(tx, row.id, { oidcIssuer: identity.issuer, oidcSubject: identity.subject });
    }
    if (row.activatedAt === null) {
      // An invited person who comes in through SSO needs their invitation code no more.
      await updateUser(tx, row.id, { activatedAt: now });
      await withdrawInvitations(tx, row.id, now);
    }
    const role = via === "created" ? row.role : await applyMappedRole(tx, audit, row, identity.role);
    await appendAudit(tx, audit, {
      tenantId,
      action: "user.sso_sign_in",
      targets: [{ type: "user", id: row.id }],
      details: { issuer: identity.issuer, subject: identity.subject, via, role },
    });
    return {
      user: {
        ...row,
        role,
        oidcIssuer: identity.issuer,
        oidcSubject: identity.subject,
        activatedAt: row.activatedAt ?? now,
      },
      via,
    };
  });
}

async function findUser(
  tx: Tx,
  tenantId: string,
  identity: FederatedIdentity,
): Promise<{ row: UserRow; via: "linked" | "email" } | undefined> {
  const linked = await userByOidc(tx, identity.issuer, identity.subject);
  if (linked) {
    // (issuer, subject) is unique across tenants: one identity belongs to one tenant's user.
    if (linked.tenantId !== tenantId)
      throw refused("This identity is already linked to a user of another tenant");
    assertMaySignIn(linked);
    return { row: linked, via: "linked" };
  }
  if (identity.verifiedEmail === null)
    throw refused("The identity provider did not share a verified email address, so no user can be matched");
  const byEmail = await tenantUserByEmail(tx, tenantId, identity.verifiedEmail);
  if (!byEmail) return undefined;
  assertMaySignIn(byEmail);
  if (byEmail.oidcIssuer !== null || byEmail.oidcSubject !== null)
    throw refused("A user with this email is already linked to another identity; ask an owner or admin");
  return { row: byEmail, via: "email" };
}

async function createUser(
  tx: Tx,
  request: Omit<AuditContext, "actor">,
  tenantId: string,
  identity: FederatedIdentity,
  now: number,
): Promise<UserRow> {
  // findUser refused an identity without a verified email before we get here.
  const email = identity.verifiedEmail!;
  const row: UserRow = {
    id: newId("user"),
    tenantId,
    email,
    name: identity.name ?? email,
    role: identity.role,
    oidcIssuer: identity.issuer,
    oidcSubject: identity.subject,
    createdAt: now,
    activatedAt: now,
    disabledAt: null,
    deletedAt: null,
  };
  await insertUser(tx, row);
  await appendAudit(
    tx,
    { ...request, actor: { type: "user", id: row.id } },
    {
      tenantId,
      action: "user.create",
      targets: [{ type: "user", id: row.id }],
      details: { role: row.role, via: "sso", issuer: identity.issuer },
    },
  );
  return row;
}

/** Brings the user's role in line with the provider's groups; returns the role they now hold. */
async function applyMappedRole(tx: Tx, audit: AuditContext, row: UserRow, mapped: Role): Promise<Role> {
  if (row.role === mapped) return row.role;
  if (row.role === "owner" && (await ownerCount(tx, row.tenantId)) <= 1) return row.role;
  await setUserRole(tx, row.id, mapped);
  await appendAudit(tx, audit, {
    tenantId: row.tenantId,
    action: "user.update",
    targets: [{ type: "user", id: row.id }],
    details: { from: { role: row.role }, to: { role: mapped }, via: "sso" },
  });
  return mapped;
}
