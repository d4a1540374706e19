import { ChurnError } from "#shared/errors.ts";
import type { ApiClient } from "#shared/identity.ts";
import { newId } from "#shared/ids.ts";
import type { RateLimit } from "#shared/kv.ts";
import { parseScopeString, type Scope } from "#shared/scopes.ts";
import { toIso } from "#shared/time.ts";
import type { Db, DbOrTx } from "../../platform/db/client.ts";
import type { ApiClientRow } from "../../platform/db/schema/index.ts";
import { writeTransaction } from "../../platform/db/write-transaction.ts";
import { type AuditContext, appendAudit } from "../audit/audit.ts";
import { insertApiClient, tenantClient, tenantClients, updateClient } from "./queries/api-clients.ts";
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
    monthlyPredictionQuota: row.monthlyPredictionQuota,
    createdAt: toIso(row.createdAt),
    revokedAt: row.revokedAt !== null ? toIso(row.revokedAt) : null,
    previousSecretExpiresAt: overlapOpen ? toIso(row.previousSecretExpiresAt!) : null,
  };
}

const dedupe = (scopes: Scope[]): Scope[] => [...new Set(scopes)];

export async function listApiClients(db: Db, tenantId: string): Promise<ApiClient[]> {
  const rows = await tenantClients(db, tenantId);
  return rows.map((r) => toApiClient(r));
}

/** This tenant's client; an unknown id and another tenant's id are the same 404. */
async function getTenantClient(db: DbOrTx, tenantId: string, clientId: string): Promise<ApiClientRow> {
  const row = await tenantClient(db, tenantId, clientId);
  if (!row) throw new ChurnError("NOT_FOUND", `API client '${clientId}' not found`);
  return row;
}

const refuseRevoked = (row: ApiClientRow) => {
  if (row.revokedAt !== null)
    throw new ChurnError("CONFLICT", `API client '${row.id}' is revoked; create a new client instead`);
};

/** Creates an API client (audited) and returns its secret once; only the scrypt hash is kept. */
export async function createApiClient(
  db: Db,
  audit: AuditContext,
  input: {
    tenantId: string;
    name: string;
    scopes: Scope[];
    rateLimit?: RateLimit | null | undefined;
    monthlyPredictionQuota?: number | null | undefined;
  },
): Promise<{ client: ApiClient; clientSecret: string }> {
  const clientSecret = generateSecret("churn_cs");
  const secretHash = await hashSecret(clientSecret);
  const scopes = dedupe(input.scopes);
  return writeTransaction(db, async (tx) => {
    const row: ApiClientRow = {
      id: newId("client"),
      tenantId: input.tenantId,
      name: input.name,
      secretHash,
      previousSecretHash: null,
      previousSecretExpiresAt: null,
      scopes: scopes.join(" "),
      ratePerSecond: input.rateLimit?.ratePerSecond ?? null,
      rateBurst: input.rateLimit?.burst ?? null,
      monthlyPredictionQuota: input.monthlyPredictionQuota ?? null,
      createdAt: Date.now(),
      revokedAt: null,
    };
    await insertApiClient(tx, row);
    await appendAudit(tx, audit, {
      tenantId: input.tenantId,
      action: "client.create",
      targets: [{ type: "client", id: row.id }],
      details: {
        name: input.name,
        scopes,
        rateLimit: input.rateLimit ?? null,
        monthlyPredictionQuota: input.monthlyPredictionQuota ?? null,
      },
    });
    return { client: toApiClient(row), clientSecret };
  });
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
  return writeTransaction(db, async (tx) => {
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
    await updateClient(tx, clientId, {
      secretHash: next.secretHash,
      previousSecretHash: next.previousSecretHash,
      previousSecretExpiresAt: next.previousSecretExpiresAt,
    });
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
  });
}

export interface ClientPatch {
  name?: string | undefined;
  scopes?: Scope[] | undefined;
  rateLimit?: RateLimit | null | undefined;
  monthlyPredictionQuota?: number | null | undefined;
}

/**
 * Changes name, scopes, rate limit or monthly quota (audited with before and after); says whether the rate
 * limit or the quota changed, which the edge must then be told.
 */
export async function updateApiClient(
  db: Db,
  audit: AuditContext,
  tenantId: string,
  clientId: string,
  patch: ClientPatch,
): Promise<{ client: ApiClient; limitsChanged: boolean }> {
  return writeTransaction(db, async (tx) => {
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
      ...(patch.monthlyPredictionQuota !== undefined
        ? { monthlyPredictionQuota: patch.monthlyPredictionQuota }
        : {}),
    };
    await updateClient(tx, clientId, {
      name: next.name,
      scopes: next.scopes,
      ratePerSecond: next.ratePerSecond,
      rateBurst: next.rateBurst,
      monthlyPredictionQuota: next.monthlyPredictionQuota,
    });
    const after = toApiClient(next);
    const changed = (["name", "scopes", "rateLimit", "monthlyPredictionQuota"] as const).filter(
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
    return {
      client: after,
      limitsChanged: changed.includes("rateLimit") || changed.includes("monthlyPredictionQuota"),
    };
  });
}

/** Revokes the client (idempotent: a second call changes nothing and is not audited again). */
export async function revokeApiClient(
  db: Db,
  audit: AuditContext,
  tenantId: string,
  clientId: string,
): Promise<{ client: ApiClient; changed: boolean }> {
  return writeTransaction(db, async (tx) => {
    const row = await getTenantClient(tx, tenantId, clientId);
    if (row.revokedAt !== null) return { client: toApiClient(row), changed: false };
    const revokedAt = Date.now();
    await updateClient(tx, clientId, { revokedAt });
    await appendAudit(tx, audit, {
      tenantId,
      action: "client.revoke",
      targets: [{ type: "client", id: clientId }],
      details: { name: row.name },
    });
    return { client: toApiClient({ ...row, revokedAt }), changed: true };
  });
}
