import { and, asc, desc, eq, gt, gte, lt, lte, notExists, type SQL, sql } from "drizzle-orm";
import { alias } from "drizzle-orm/sqlite-core";
import type { AuditAction } from "#shared/audit.ts";
import type { DbOrTx } from "../../platform/db/client.ts";
import { type AuditLogRow, auditLog } from "../../platform/db/schema/index.ts";

/** The audit log's queries: every one is scoped to one tenant's chain. */

/** The head of a tenant's chain: its last sequence number, hash and chain version. */
export async function chainHead(
  tx: DbOrTx,
  tenantId: string,
): Promise<{ seq: number; hash: string; chainVersion: number } | undefined> {
  const [last] = await tx
    .select({ seq: auditLog.seq, hash: auditLog.hash, chainVersion: auditLog.chainVersion })
    .from(auditLog)
    .where(eq(auditLog.tenantId, tenantId))
    .orderBy(desc(auditLog.seq))
    .limit(1);
  return last;
}

export async function insertAuditRow(tx: DbOrTx, row: typeof auditLog.$inferInsert): Promise<void> {
  await tx.insert(auditLog).values(row);
}

/** Up to `limit` entries after `afterSeq`, in chain order. */
export function entriesAfter(
  db: DbOrTx,
  tenantId: string,
  afterSeq: number,
  limit: number,
): Promise<AuditLogRow[]> {
  return db
    .select()
    .from(auditLog)
    .where(and(eq(auditLog.tenantId, tenantId), gt(auditLog.seq, afterSeq)))
    .orderBy(asc(auditLog.seq))
    .limit(limit);
}

export interface AuditFilter {
  action?: AuditAction | undefined;
  actorId?: string | undefined;
  /** Epoch ms, inclusive. */
  since?: number | undefined;
  until?: number | undefined;
  /** Entries before this sequence number (the previous page's last). */
  cursor?: number | undefined;
  limit: number;
}

/** Up to `limit` entries matching the filter, newest first. */
export function filteredEntries(
  db: DbOrTx,
  tenantId: string,
  filter: AuditFilter,
  limit: number,
): Promise<AuditLogRow[]> {
  const conditions: SQL[] = [eq(auditLog.tenantId, tenantId)];
  if (filter.action) conditions.push(eq(auditLog.action, filter.action));
  if (filter.actorId) conditions.push(eq(auditLog.actorId, filter.actorId));
  if (filter.since !== undefined) conditions.push(gte(auditLog.createdAt, filter.since));
  if (filter.until !== undefined) conditions.push(lte(auditLog.createdAt, filter.until));
  if (filter.cursor !== undefined) conditions.push(lt(auditLog.seq, filter.cursor));
  return db
    .select()
    .from(auditLog)
    .where(and(...conditions))
    .orderBy(desc(auditLog.seq))
    .limit(limit);
}

/** The whole entry at the head of a tenant's chain. */
export async function headEntry(db: DbOrTx, tenantId: string): Promise<AuditLogRow | undefined> {
  const [row] = await db
    .select()
    .from(auditLog)
    .where(eq(auditLog.tenantId, tenantId))
    .orderBy(desc(auditLog.seq))
    .limit(1);
  return row;
}

export async function entryAt(db: DbOrTx, tenantId: string, seq: number): Promise<AuditLogRow | undefined> {
  const [row] = await db
    .select()
    .from(auditLog)
    .where(and(eq(auditLog.tenantId, tenantId), eq(auditLog.seq, seq)))
    .limit(1);
  return row;
}

/** Whether any entry is keyed: once one is, the database's key must never be replaced by a new one. */
export async function anyKeyedEntry(db: DbOrTx, keyedVersion: number): Promise<boolean> {
  const [row] = await db
    .select({ id: auditLog.id })
    .from(auditLog)
    .where(eq(auditLog.chainVersion, keyedVersion))
    .limit(1);
  return row !== undefined;
}

/** Chains whose head entry is of `version` (the unkeyed chains still waiting for their cut-over). */
export async function chainsHeadedBy(db: DbOrTx, version: number): Promise<string[]> {
  const later = alias(auditLog, "later");
  const rows = await db
    .select({ tenantId: auditLog.tenantId })
    .from(auditLog)
    .where(
      and(
        eq(auditLog.chainVersion, version),
        notExists(
          db
            .select({ one: sql`1` })
            .from(later)
            .where(and(eq(later.tenantId, auditLog.tenantId), gt(later.seq, auditLog.seq))),
        ),
      ),
    );
  return rows.map((r) => r.tenantId);
}

/**
 * The chains that gained entries since `afterRowid`, with the highest rowid seen. Rows are never updated or
 * deleted and SQLite hands out rowids in commit order (one writer at a time), so a watermark on rowid
 * finds every new entry without scanning the table.
 */
export async function chainsGrownSince(
  db: DbOrTx,
  afterRowid: number,
): Promise<{ tenantId: string; lastRowid: number }[]> {
  const rows = await db
    .select({ tenantId: auditLog.tenantId, lastRowid: sql<number>`max(${auditLog}.rowid)` })
    .from(auditLog)
    .where(sql`${auditLog}.rowid > ${afterRowid}`)
    .groupBy(auditLog.tenantId);
  return rows.map((r) => ({ tenantId: r.tenantId, lastRowid: Number(r.lastRowid) }));
}

/** Every chain in the database, by its tenant id (or the platform chain's). */
export async function chainIds(db: DbOrTx): Promise<string[]> {
  const rows = await db
    .selectDistinct({ tenantId: auditLog.tenantId })
    .from(auditLog)
    .orderBy(asc(auditLog.tenantId));
  return rows.map((r) => r.tenantId);
}
