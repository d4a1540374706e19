import { newId } from "#shared/ids.ts";
import type { Db } from "../../platform/db/client.ts";
import type { Role } from "../../platform/db/schema/index.ts";
import { writeTransaction } from "../../platform/db/write-transaction.ts";
import { type AuditContext, appendAudit } from "../audit/audit.ts";
import { createPat } from "./pat.ts";
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

/** Adds a user with a role and returns a personal access token for them (shown once). */
export async function addUser(
  db: Db,
  audit: AuditContext,
  input: { tenantId: string; email: string; role: Role },
): Promise<{ userId: string; token: string }> {
  const created = await createUser(db, audit, input);
  return { userId: created.user.id, token: created.token.token };
}
