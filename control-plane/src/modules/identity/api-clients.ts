import { and, asc, eq } from "drizzle-orm";
import { ChurnError } from "#shared/errors.ts";
import type { ApiClient } from "#shared/identity.ts";
import type { RateLimit } from "#shared/kv.ts";
import { parseScopeString, type Scope } from "#shared/scopes.ts";
import { toIso } from "#shared/time.ts";
import type { Db, DbOrTx } from "../../platform/db/client.ts";
import { type ApiClientRow, apiClients } from "../../platform/db/schema/index.ts";
import { type AuditContext, appendAudit } from "../audit/audit.ts";
import { createApiClient } from "./clients.ts";
import { generateSecret, hashSecret } from "./secrets.ts";

export function toApiClient(row: ApiClientRow, now = Date.now()): ApiClient {
  const overlapOpen = row.previousSecretHash !== null && (row.previousSecretExpiresAt ?? 0) > now;
  return {
    id: row.id,
    name: row.name,
    scopes: parseScopeString(row.scopes) as Scope[],
    rateLimit:
      row.ratePerSecond !== null && row.rateBurst !== null
        ? { ratePerSecond: row.ratePerSecond, burst: row.rateBurst }
        : null,
    createdAt: toIso(row.createdAt),
    revokedAt: row.revokedAt !== null ? toIso(row.revokedAt) : null,
    previousSecretExpiresAt: overlapOpen ? toIso(row.previousSecretExpiresAt!) : null,
  };
}

const dedupe = (scopes: Scope[]): Scope[] => [...new Set(scopes)];

export async function listApiClients(db: Db, tenantId: string): Promise<ApiClient[]> {
  const rows = await db
    .select()
    .from(apiClients)
    .where(eq(apiClients.tenantId, tenantId))
    .orderBy(asc(apiClients.createdAt), asc(apiClients.id));
  return rows.map((r) => toApiClient(r));
}

/** This tenant's client; an unknown id and another tenant's id are the same 404. */
async function getTenantClient(db: DbOrTx, tenantId: string, clientId: string): Promise<ApiClientRow> {
  const [row] = await db
    .select()
    .from(apiClients)
    .where(and(eq(apiClients.id, clientId), eq(apiClients.tenantId, tenantId)))
    .limit(1);
  if (!row) throw new ChurnError("NOT_FOUND", `API client '${clientId}' not found`);
  return row;
}

const refuseRevoked = (row: ApiClientRow) => {
  if (row.revokedAt !== null)
    throw new ChurnError("CONFLICT", `API client '${row.id}' is revoked; create a new client instead`);
};

export async function createTenantApiClient(
  db: Db,
  audit: AuditContext,
  input: { tenantId: string; name: string; scopes: Scope[]; rateLimit?: RateLimit | undefined },
): Promise<{ client: ApiClient; clientSecret: string }> {
  return db.transaction(
    async (tx) => {
      const { clientId, clientSecret } = await createApiClient(tx, audit, {
        ...input,
        scopes: dedupe(input.scopes),
      });
      return { client: toApiClient(await getTenantClient(tx, input.tenantId, clientId)), clientSecret };
    },
    { behavior: "immediate" },
  );
}

/**
 * Replaces the client's secret and returns the new one once. The replaced secret keeps working for
 * `overlapSeconds` (0 ends it now), so deployments can switch over without an outage; a second rotation
 * inside the window ends the older secret's overlap.
 */
export async function rotateClientSecret(
  db: Db,
  audit: AuditContext,
  tenantId: string,
  clientId: string,
  overlapSeconds: number,
): Promise<{ client: ApiClient; clientSecret: string }> {
  await getTenantClient(db, tenantId, clientId); // 404 before paying for scrypt
  const clientSecret = generateSecret("churn_cs");
  const secretHash = await hashSecret(clientSecret);
  return db.transaction(
    async (tx) => {
      const row = await getTenantClient(tx, tenantId, clientId);
      refuseRevoked(row);
      const now = Date.now();
      const previousSecretExpiresAt = overlapSeconds > 0 ? now + overlapSeconds * 1000 : null;
      const next: ApiClientRow = {
        ...row,
        secretHash,
        previousSecretHash: previousSecretExpiresAt !== null ? row.secretHash : null,
        previousSecretExpiresAt,
      };
      await tx
        .update(apiClients)
        .set({
          secretHash: next.secretHash,
          previousSecretHash: next.previousSecretHash,
          previousSecretExpiresAt: next.previousSecretExpiresAt,
        })
        .where(eq(apiClients.id, clientId));
      await appendAudit(tx, audit, {
        tenantId,
        action: "client.rotate",
        targets: [{ type: "client", id: clientId }],
        details: {
          overlapSeconds,
          previousSecretExpiresAt: previousSecretExpiresAt !== null ? toIso(previousSecretExpiresAt) : null,
        },
      });
      return { client: toApiClient(next, now), clientSecret };
    },
    { behavior: "immediate" },
  );
}

export interface ClientPatch {
  name?: string | undefined;
  scopes?: Scope[] | undefined;
  rateLimit?: RateLimit | null | undefined;
}

/** Changes name, scopes or rate limit (audited with before and after); says whether the limit changed. */
export async function updateApiClient(
  db: Db,
  audit: AuditContext,
  tenantId: string,
  clientId: string,
  patch: ClientPatch,
): Promise<{ client: ApiClient; rateLimitChanged: boolean }> {
  return db.transaction(
    async (tx) => {
      const row = await getTenantClient(tx, tenantId, clientId);
      refuseRevoked(row);
      const before = toApiClient(row);
      const next: ApiClientRow = {
        ...row,
        ...(patch.name !== undefined ? { name: patch.name } : {}),
        ...(patch.scopes !== undefined ? { scopes: dedupe(patch.scopes).join(" ") } : {}),
        ...(patch.rateLimit !== undefined
          ? {
              ratePerSecond: patch.rateLimit?.ratePerSecond ?? null,
              rateBurst: patch.rateLimit?.burst ?? null,
            }
          : {}),
      };
      await tx
        .update(apiClients)
        .set({
          name: next.name,
          scopes: next.scopes,
          ratePerSecond: next.ratePerSecond,
          rateBurst: next.rateBurst,
        })
        .where(eq(apiClients.id, clientId));
      const after = toApiClient(next);
      const changed = (["name", "scopes", "rateLimit"] as const).filter(
        (f) => JSON.stringify(before[f]) !== JSON.stringify(after[f]),
      );
      await appendAudit(tx, audit, {
        tenantId,
        action: "client.update",
        targets: [{ type: "client", id: clientId }],
        details: {
          from: Object.fromEntries(changed.map((f) => [f, before[f]])),
          to: Object.fromEntries(changed.map((f) => [f, after[f]])),
        },
      });
      return { client: after, rateLimitChanged: changed.includes("rateLimit") };
    },
    { behavior: "immediate" },
  );
}

/** Revokes the client (idempotent: a second call changes nothing and is not audited again). */
export async function revokeApiClient(
  db: Db,
  audit: AuditContext,
  tenantId: string,
  clientId: string,
): Promise<{ client: ApiClient; changed: boolean }> {
  return db.transaction(
    async (tx) => {
      const row = await getTenantClient(tx, tenantId, clientId);
      if (row.revokedAt !== null) return { client: toApiClient(row), changed: false };
      const revokedAt = Date.now();
      await tx.update(apiClients).set({ revokedAt }).where(eq(apiClients.id, clientId));
      await appendAudit(tx, audit, {
        tenantId,
        action: "client.revoke",
        targets: [{ type: "client", id: clientId }],
        details: { name: row.name },
      });
      return { client: toApiClient({ ...row, revokedAt }), changed: true };
    },
    { behavior: "immediate" },
  );
}
