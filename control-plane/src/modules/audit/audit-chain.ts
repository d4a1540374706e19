import type { AuditEntry } from "#shared/audit.ts";
import { sha256Hex } from "#shared/hash.ts";
import { toIso } from "#shared/time.ts";
import type { DbOrTx } from "../../platform/db/client.ts";
import type { AuditLogRow } from "../../platform/db/schema/index.ts";
import { chainPayload, GENESIS_HASH } from "./audit.ts";
import { type AuditFilter, entriesAfter, filteredEntries } from "./queries.ts";

export type { AuditFilter } from "./queries.ts";

export interface ChainVerification {
  ok: boolean;
  entries: number;
  /** The first entry that does not verify, and why. */
  firstBad?: { seq: number; id: string; reason: string };
  headHash: string;
}

const PAGE = 1000;

/** Walks a tenant's chain in order, recomputing every hash; names the first edited, deleted or reordered entry. */
export async function verifyChain(db: DbOrTx, tenantId: string): Promise<ChainVerification> {
  let prevHash = GENESIS_HASH;
  let expectedSeq = 1;
  let count = 0;
  let afterSeq = 0;
  for (;;) {
    const rows = await entriesAfter(db, tenantId, afterSeq, PAGE);
    for (const row of rows) {
      const bad = (reason: string): ChainVerification => ({
        ok: false,
        entries: count,
        firstBad: { seq: row.seq, id: row.id, reason },
        headHash: prevHash,
      });
      if (row.seq !== expectedSeq)
        return bad(`expected seq ${expectedSeq}: an entry is missing or out of order`);
      if (row.prevHash !== prevHash) return bad("prev_hash does not match the previous entry");
      if ((await sha256Hex(prevHash + chainPayload(row))) !== row.hash)
        return bad("content does not match its hash");
      prevHash = row.hash;
      expectedSeq++;
      count++;
    }
    if (rows.length < PAGE) break;
    afterSeq = rows[rows.length - 1]!.seq;
  }
  return { ok: true, entries: count, headHash: prevHash };
}

/** A tenant's chain as JSON Lines of AuditEntry, one page of entries per chunk, in order (the exports). */
export async function* auditJsonLines(db: DbOrTx, tenantId: string): AsyncGenerator<string> {
  let afterSeq = 0;
  for (;;) {
    const rows = await entriesAfter(db, tenantId, afterSeq, PAGE);
    if (rows.length > 0) yield rows.map((r) => `${JSON.stringify(toAuditEntry(r))}\n`).join("");
    if (rows.length < PAGE) return;
    afterSeq = rows[rows.length - 1]!.seq;
  }
}

/** A page of the audit log, newest first: GET /v1/audit and the console's audit page. */
export async function auditPage(
  db: DbOrTx,
  tenantId: string,
  filter: AuditFilter,
): Promise<{ entries: AuditEntry[]; nextCursor: number | null }> {
  const rows = await filteredEntries(db, tenantId, filter, filter.limit + 1);
  const page = rows.slice(0, filter.limit);
  return {
    entries: page.map(toAuditEntry),
    nextCursor: rows.length > filter.limit ? page[page.length - 1]!.seq : null,
  };
}

export function toAuditEntry(row: AuditLogRow): AuditEntry {
  return {
    id: row.id,
    tenantId: row.tenantId,
    seq: row.seq,
    action: row.action,
    actor: { type: row.actorType as AuditEntry["actor"]["type"], id: row.actorId },
    targets: JSON.parse(row.targets) as AuditEntry["targets"],
    details: JSON.parse(row.details) as Record<string, unknown>,
    requestId: row.requestId,
    ip: row.ip,
    userAgent: row.userAgent,
    createdAt: toIso(row.createdAt),
    prevHash: row.prevHash,
    hash: row.hash,
  };
}
