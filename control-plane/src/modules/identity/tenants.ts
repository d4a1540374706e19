import { newId } from "#shared/ids.ts";
import type { Db } from "../../platform/db/client.ts";
import type { Role } from "../../platform/db/schema/index.ts";
import { writeTransaction } from "../../platform/db/write-transaction.ts";
import { type AuditContext, appendAudit } from "../audit/audit.ts";
import { redeemInvitation } from "./invitations.ts";
import { createPat } from "./pat.ts";
import type { Principal } from "./permissions.ts";
import { insertTenant, insertUser } from "./queries/users.ts";
import { createUser } from "./users.ts";

export interface NewTenant {
  tenantId: string;
  ownerId: string;
  ownerToken: string;
}

/** Creates a tenant with its owner and the owner's first personal access token, in one transaction. */
export async function createTenant(
  db: Db,
  input: { name: string; ownerEmail: string; ownerName: string },
): Promise<NewTenant> {
  return writeTransaction(db, async (tx) => {
    const tenantId = newId("tenant");
    const ownerId = newId("user");
    const now = Date.now();
    const audit: AuditContext = {
      actor: { type: "system", id: "bootstrap" },
      requestId: null,
      ip: null,
      userAgent: null,
    };
    await insertTenant(tx, { id: tenantId, name: input.name, createdAt: now });
    await appendAudit(tx, audit, {
      tenantId,
      action: "tenant.create",
      targets: [{ type: "tenant", id: tenantId }],
    });
    await insertUser(tx, {
      id: ownerId,
      tenantId,
      email: input.ownerEmail,
      name: input.ownerName,
      role: "owner",
      createdAt: now,
      activatedAt: now,
    });
    await appendAudit(tx, audit, {
      tenantId,
      action: "user.create",
      targets: [{ type: "user", id: ownerId }],
      details: { role: "owner" },
    });
    const pat = await createPat(tx, { tenantId, userId: ownerId, name: "bootstrap", ttlDays: 90 });
    await appendAudit(tx, audit, {
      tenantId,
      action: "pat.create",
      targets: [{ type: "pat", id: pat.id }],
    });
    return { tenantId, ownerId, ownerToken: pat.token };
  });
}

/**
 * Adds a user with a role as the tenant's operator would, and redeems their invitation at once: for
 * scripted set-ups and tests that need a person's token. The API never does this for a caller.
 */
export async function addUser(
  db: Db,
  audit: AuditContext,
  input: { tenantId: string; email: string; role: Role },
): Promise<{ userId: string; token: string }> {
  // Acting with an owner's permissions: the operator may grant any role.
  const operator: Principal = {
    tenantId: input.tenantId,
    kind: "user",
    id: "operator",
    role: "owner",
    scopes: new Set(),
  };
  const created = await createUser(db, audit, operator, input);
  const redeemed = await redeemInvitation(db, audit, created.invitation.code);
  return { userId: created.user.id, token: redeemed.token.token };
}
