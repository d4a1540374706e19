import { ChurnError } from "#shared/errors.ts";
import type { PersonalAccessTokenInfo } from "#shared/identity.ts";
import { toIso } from "#shared/time.ts";
import type { Db } from "../../platform/db/client.ts";
import type { PersonalAccessTokenRow } from "../../platform/db/schema/index.ts";
import { writeTransaction } from "../../platform/db/write-transaction.ts";
import { type AuditContext, appendAudit } from "../audit/audit.ts";
import { createPat } from "./pat.ts";
import { markTokenRevoked, ownedToken, ownedTokens, tokenById } from "./queries/tokens.ts";

/** Whose tokens: the signed-in person (routes under /v1/users/me never take another user's id). */
export interface TokenOwner {
  tenantId: string;
  userId: string;
}

export function toPatInfo(row: PersonalAccessTokenRow): PersonalAccessTokenInfo {
  return {
    id: row.id,
    name: row.name,
    createdAt: toIso(row.createdAt),
    expiresAt: toIso(row.expiresAt),
    revokedAt: row.revokedAt !== null ? toIso(row.revokedAt) : null,
  };
}

export async function createOwnToken(
  db: Db,
  audit: AuditContext,
  owner: TokenOwner,
  input: { name: string; ttlDays: number },
): Promise<PersonalAccessTokenInfo & { token: string }> {
  return writeTransaction(db, async (tx) => {
    const pat = await createPat(tx, { ...owner, ...input });
    await appendAudit(tx, audit, {
      tenantId: owner.tenantId,
      action: "pat.create",
      targets: [{ type: "pat", id: pat.id }],
      details: { userId: owner.userId, name: input.name, ttlDays: input.ttlDays },
    });
    const row = await tokenById(tx, pat.id);
    return { ...toPatInfo(row!), token: pat.token };
  });
}

/** The person's tokens, newest first, without secrets (only hashes are stored anyway). */
export async function listOwnTokens(db: Db, owner: TokenOwner): Promise<PersonalAccessTokenInfo[]> {
  const rows = await ownedTokens(db, owner);
  return rows.map(toPatInfo);
}

/** Revokes one of the person's tokens; another person's token id is the same 404 as an unknown one. */
export async function revokeOwnToken(
  db: Db,
  audit: AuditContext,
  owner: TokenOwner,
  tokenId: string,
): Promise<void> {
  await writeTransaction(db, async (tx) => {
    const row = await ownedToken(tx, owner, tokenId);
    if (!row) throw new ChurnError("NOT_FOUND", `Personal access token '${tokenId}' not found`);
    if (row.revokedAt !== null) return;
    await markTokenRevoked(tx, tokenId, Date.now());
    await appendAudit(tx, audit, {
      tenantId: owner.tenantId,
      action: "pat.revoke",
      targets: [{ type: "pat", id: tokenId }],
      details: { userId: owner.userId, name: row.name },
    });
  });
}
