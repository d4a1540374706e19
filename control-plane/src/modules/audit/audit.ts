import type { Actor, AuditAction } from "#shared/audit.ts";
import { sha256Hex } from "#shared/hash.ts";
import { newId } from "#shared/ids.ts";
import type { Config } from "../../platform/config.ts";
import type { Db, DbOrTx } from "../../platform/db/client.ts";
import { writeTransaction } from "../../platform/db/write-transaction.ts";
import { type AuditKey, auditKeyOf, auditMac, bindAuditKey, loadAuditKey } from "./audit-key.ts";
import { anyKeyedEntry, chainHead, chainIds, chainsHeadedBy, insertAuditRow } from "./queries.ts";

export const GENESIS_HASH = "0".repeat(64);

/**
 * How an entry's hash was computed (`audit_log.chain_version`). Entries written before migration 0018 are
 * UNKEYED: sha256(prev_hash + payload), which anyone who can write the table can recompute. Every entry
 * since is KEYED: HMAC-SHA256(audit key, prev_hash + payload), and the key is never in the database.
 */
export const UNKEYED_CHAIN = 1;
export const KEYED_CHAIN = 2;

/**
 * Loads the audit key for the control plane's database and binds it there. A new key file may be made only
 * while no entry is keyed yet (a new database, or one from before keyed chains): a keyed chain whose key
 * is missing must stop the start, not be continued under a new key.
 */
export async function prepareAuditKey(config: Config, db: Db): Promise<AuditKey> {
  const key = await loadAuditKey(config, { mayCreate: !(await anyKeyedEntry(db, KEYED_CHAIN)) });
  bindAuditKey(db, key);
  return key;
}

/** Who writes the entries the audit chain itself needs (its keyed cut-over). */
const CHAIN_AUDIT: AuditContext = {
  actor: { type: "system", id: "audit-chain" },
  requestId: null,
  ip: null,
  userAgent: null,
};

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

export interface ChainedFields {
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
}

/** The fields covered by the chain hash, in a fixed order so the hash is reproducible on verify. */
export function chainPayload(entry: ChainedFields): string {
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

/** A keyed entry's hash: HMAC-SHA256(key, prev_hash + payload). */
export function keyedHash(key: AuditKey, prevHash: string, entry: ChainedFields): string {
  return auditMac(key, prevHash + chainPayload(entry));
}

/** A legacy entry's hash: sha256(prev_hash + payload); verified only up to the chain's keyed cut-over. */
export function unkeyedHash(prevHash: string, entry: ChainedFields): Promise<string> {
  return sha256Hex(prevHash + chainPayload(entry));
}

/**
 * Appends one entry to the tenant's chain, keyed with the database's audit key. Call inside the
 * transaction that makes the change. A chain still headed by an unkeyed entry gets its cut-over first.
 */
export async function appendAudit(tx: DbOrTx, ctx: AuditContext, record: AuditRecord): Promise<string> {
  const key = auditKeyOf(tx);
  let last = await chainHead(tx, record.tenantId);
  if (last && last.chainVersion !== KEYED_CHAIN) last = await appendCutOver(tx, key, record.tenantId, last);
  return (await appendKeyed(tx, key, ctx, record, last)).id;
}

/**
 * The keyed cut-over of a chain written before entries were keyed: a keyed entry naming the unkeyed head
 * it follows. Its HMAC covers that head's hash, so the unkeyed entries before it can no longer be
 * rewritten either; and verification accepts unkeyed entries only when such a cut-over follows them, so
 * rewriting a whole chain by the old rule fails too.
 */
function appendCutOver(
  tx: DbOrTx,
  key: AuditKey,
  tenantId: string,
  head: { seq: number; hash: string },
): Promise<{ seq: number; hash: string; chainVersion: number }> {
  return appendKeyed(
    tx,
    key,
    CHAIN_AUDIT,
    {
      tenantId,
      action: "audit.chain_keyed",
      targets: [],
      details: { unkeyedEntries: head.seq, unkeyedHead: head.hash },
    },
    head,
  );
}

/** Gives every chain still headed by an unkeyed entry its keyed cut-over; at start-up, before serving. */
export async function sealUnkeyedChains(db: Db): Promise<string[]> {
  const sealed: string[] = [];
  for (const tenantId of await chainsHeadedBy(db, UNKEYED_CHAIN)) {
    const done = await writeTransaction(db, async (tx) => {
      // Another process may have sealed it meanwhile: look again under the write lock.
      const head = await chainHead(tx, tenantId);
      if (!head || head.chainVersion === KEYED_CHAIN) return false;
      await appendCutOver(tx, auditKeyOf(tx), tenantId, head);
      return true;
    });
    if (done) sealed.push(tenantId);
  }
  return sealed;
}

async function appendKeyed(
  tx: DbOrTx,
  key: AuditKey,
  ctx: AuditContext,
  record: AuditRecord,
  last: { seq: number; hash: string } | undefined,
): Promise<{ id: string; seq: number; hash: string; chainVersion: number }> {
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
  const hash = keyedHash(key, prevHash, entry);
  await insertAuditRow(tx, { ...entry, prevHash, hash, chainVersion: KEYED_CHAIN });
  return { id: entry.id, seq: entry.seq, hash, chainVersion: KEYED_CHAIN };
}

/** Who records a restore: the maintenance command, not a person signed in. */
const RESTORE_AUDIT: AuditContext = {
  actor: { type: "system", id: "restore" },
  requestId: null,
  ip: null,
  userAgent: null,
};

/** Appends a keyed `audit.restore` entry to every chain of a database just restored from a backup. */
export async function appendRestoreEntries(db: Db, details: { backup: string }): Promise<string[]> {
  const chains = await chainIds(db);
  await writeTransaction(db, async (tx) => {
    for (const tenantId of chains)
      await appendAudit(tx, RESTORE_AUDIT, {
        tenantId,
        action: "audit.restore",
        targets: [],
        details: { ...details, restoredAt: new Date().toISOString() },
      });
  });
  return chains;
}
