import type { Actor, AuditAction } from "#shared/audit.ts";
import { sha256Hex } from "#shared/hash.ts";
import { newId } from "#shared/ids.ts";
import type { DbOrTx } from "../../platform/db/client.ts";
import { chainHead, insertAuditRow } from "./queries.ts";

export const GENESIS_HASH = "0".repeat(64);

/** Platform-wide actions (signing keys) are chained under this reserved id rather than a tenant's. */
export const PLATFORM_AUDIT_CHAIN = "platform";

/** Who did it and from where; built once per request by the audit-context middleware. */
export interface AuditContext {
  actor: Actor;
  requestId: string | null;
  ip: string | null;
  userAgent: string | null;
}

/** The actor of what the control plane does on its own schedule (alerts, retraining jobs, canaries). */
export const SCHEDULER_AUDIT: AuditContext = {
  actor: { type: "system", id: "scheduler" },
  requestId: null,
  ip: null,
  userAgent: null,
};

export interface AuditRecord {
  tenantId: string;
  action: AuditAction;
  targets: { type: string; id: string }[];
  details?: Record<string, unknown>;
}

/** The fields covered by the chain hash, in a fixed order so the hash is reproducible on verify. */
export function chainPayload(entry: {
  id: string;
  tenantId: string;
  seq: number;
  action: string;
  actorType: string;
  actorId: string;
  targets: string;
  details: string;
  requestId: string | null;
  ip: string | null;
  userAgent: string | null;
  createdAt: number;
}): string {
  return JSON.stringify([
    entry.id,
    entry.tenantId,
    entry.seq,
    entry.action,
    entry.actorType,
    entry.actorId,
    entry.targets,
    entry.details,
    entry.requestId,
    entry.ip,
    entry.userAgent,
    entry.createdAt,
  ]);
}

/** Appends one entry to the tenant's chain. Call inside the transaction that makes the change. */
export async function appendAudit(tx: DbOrTx, ctx: AuditContext, record: AuditRecord): Promise<string> {
  const last = await chainHead(tx, record.tenantId);
  const entry = {
    id: newId("audit"),
    tenantId: record.tenantId,
    seq: (last?.seq ?? 0) + 1,
    action: record.action,
    actorType: ctx.actor.type,
    actorId: ctx.actor.id,
    targets: JSON.stringify(record.targets),
    details: JSON.stringify(record.details ?? {}),
    requestId: ctx.requestId,
    ip: ctx.ip,
    userAgent: ctx.userAgent,
    createdAt: Date.now(),
  };
  const prevHash = last?.hash ?? GENESIS_HASH;
  const hash = await sha256Hex(prevHash + chainPayload(entry));
  await insertAuditRow(tx, { ...entry, prevHash, hash });
  return entry.id;
}
