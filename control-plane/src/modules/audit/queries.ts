import { and, asc, desc, eq, gt, gte, lt, lte, type SQL } from "drizzle-orm";
import type { AuditAction } from "#shared/audit.ts";
import type { DbOrTx } from "../../platform/db/client.ts";
import { type AuditLogRow, auditLog } from "../../platform/db/schema/index.ts";

/** The audit log's queries: every one is scoped to one tenant's chain. */

/** The head of a tenant's chain: its last sequence number and hash. */
export async function chainHead(
  tx: DbOrTx,
  tenantId: string,
): Promise<{ seq: number; hash: string } | undefined> {
  const [last] = await tx
    .select({ seq: auditLog.seq, hash: auditLog.hash })
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
