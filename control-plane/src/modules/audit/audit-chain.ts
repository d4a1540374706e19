import type { AuditCheckpoint, AuditEntry } from "#shared/audit.ts";
import { toIso } from "#shared/time.ts";
import type { DbOrTx } from "../../platform/db/client.ts";
import type { AuditLogRow } from "../../platform/db/schema/index.ts";
import { GENESIS_HASH, KEYED_CHAIN, keyedHash, UNKEYED_CHAIN, unkeyedHash } from "./audit.ts";
import { type AuditKey, auditKeyOf, sameMac } from "./audit-key.ts";
import { checkpointSignatureValid } from "./checkpoint-signature.ts";
import { type AuditFilter, entriesAfter, filteredEntries } from "./queries.ts";

export type { AuditFilter } from "./queries.ts";

export interface ChainVerification {
  ok: boolean;
  entries: number;
  /** The first entry that does not verify, and why. */
  firstBad?: { seq: number; id: string; reason: string };
  headHash: string;
  /** Entries chained by the legacy unkeyed rule, before the chain's keyed cut-over; absent when none. */
  unkeyedEntries?: number;
  /** The signed checkpoint the chain was compared with. */
  checkpoint?: AuditCheckpoint;
  /** Why the chain disagrees with that checkpoint, when no entry can be named (its tail is gone). */
  checkpointProblem?: string;
}

export interface VerifyOptions {
  /** The audit key; the one bound to `db` by default. */
  key?: AuditKey;
  /** A signed checkpoint of this chain to hold it to (KV's latest, or one from a backup's file). */
  checkpoint?: AuditCheckpoint | undefined;
  /**
   * The database predates keyed entries (a backup from before migration 0018): unkeyed chains then need
   * no cut-over. Never set for a database this release has run on.
   */
  predatesKeying?: boolean;
}

const PAGE = 1000;

/** The last entry a walk accepted (seq 0 and the genesis hash before the first). */
export interface ChainPosition {
  seq: number;
  hash: string;
}

export interface ChainWalk {
  /** Entries accepted, and the last of them. */
  count: number;
  head: ChainPosition;
  unkeyed: number;
  firstBad?: { seq: number; id: string; reason: string };
  /** The entry at `watchSeq`, once passed. */
  watched?: { id: string; hash: string; prevHash: string };
  /** When each verified `audit.restore` entry was written (epoch ms). */
  restores: number[];
}

export const CHAIN_START: ChainPosition = { seq: 0, hash: GENESIS_HASH };

/**
 * Walks a chain in order from `from` (the start, or a checkpointed entry already trusted), checking each
 * entry's seq, its link to the one before, and its hash by the rule of its chain version: unkeyed entries
 * only before the chain's keyed cut-over, keyed ones by HMAC with `key`. Stops at the first entry that
 * fails, or after `untilSeq`.
 */
export async function walkChain(
  db: DbOrTx,
  tenantId: string,
  key: AuditKey,
  from: ChainPosition,
  options: { untilSeq?: number; watchSeq?: number; predatesKeying?: boolean } = {},
): Promise<ChainWalk> {
  const walk: ChainWalk = { count: 0, head: from, unkeyed: 0, restores: [] };
  // A walk that starts after the first entry starts from a checkpoint, which is only ever of a keyed head.
  let keyed = from.seq > 0;
  let firstUnkeyed: { row: AuditLogRow; before: ChainPosition; count: number } | undefined;
  let afterSeq = from.seq;
  for (;;) {
    const rows = await entriesAfter(db, tenantId, afterSeq, PAGE);
    for (const row of rows) {
      if (options.untilSeq !== undefined && row.seq > options.untilSeq) return finish();
      const reason = await entryFault(row, walk.head, keyed, key);
      if (reason) {
        walk.firstBad = { seq: row.seq, id: row.id, reason };
        return walk;
      }
      if (row.chainVersion === UNKEYED_CHAIN) {
        firstUnkeyed ??= { row, before: walk.head, count: walk.count };
        walk.unkeyed++;
      } else {
        if (!keyed && walk.unkeyed > 0 && row.action !== "audit.chain_keyed") {
          walk.firstBad = {
            seq: row.seq,
            id: row.id,
            reason: "unkeyed entries end without the keyed cut-over (audit.chain_keyed)",
          };
          return walk;
        }
        keyed = true;
        if (row.action === "audit.restore") walk.restores.push(row.createdAt);
      }
      if (row.seq === options.watchSeq) walk.watched = { id: row.id, hash: row.hash, prevHash: row.prevHash };
      walk.head = { seq: row.seq, hash: row.hash };
      walk.count++;
    }
    if (rows.length < PAGE) return finish();
    afterSeq = rows[rows.length - 1]!.seq;
  }

  function finish(): ChainWalk {
    // Unkeyed entries are trusted only because a keyed cut-over follows them. A chain of nothing but
    // unkeyed entries is what rewriting one by the old rule, without the key, produces.
    if (firstUnkeyed && !keyed && !options.predatesKeying) {
      walk.firstBad = {
        seq: firstUnkeyed.row.seq,
        id: firstUnkeyed.row.id,
        reason:
          "unkeyed entry with no keyed cut-over after it: the chain was rewritten without the audit key (or was never opened by a release that keys it)",
      };
      walk.head = firstUnkeyed.before;
      walk.count = firstUnkeyed.count;
      walk.unkeyed = 0;
    }
    return walk;
  }
}

async function entryFault(
  row: AuditLogRow,
  previous: ChainPosition,
  keyed: boolean,
  key: AuditKey,
): Promise<string | null> {
  if (row.seq !== previous.seq + 1)
    return `expected seq ${previous.seq + 1}: an entry is missing or out of order`;
  if (row.prevHash !== previous.hash) return "prev_hash does not match the previous entry";
  if (row.chainVersion === KEYED_CHAIN) {
    if (!sameMac(keyedHash(key, previous.hash, row), row.hash))
      return "content does not match its keyed hash (HMAC): edited, or written without the audit key";
    return null;
  }
  if (row.chainVersion === UNKEYED_CHAIN) {
    if (keyed) return "unkeyed entry after the chain's keyed cut-over: written without the audit key";
    if ((await unkeyedHash(previous.hash, row)) !== row.hash) return "content does not match its hash";
    return null;
  }
  return `unknown chain version ${row.chainVersion}`;
}

/**
 * Walks a tenant's chain in order, recomputing every hash; names the first edited, deleted or reordered
 * entry. With a checkpoint, also holds the chain to it: the chain must reach the checkpoint's seq with the
 * same hash there (unless a keyed `audit.restore` entry, written after the checkpoint, says the database
 * was restored from a backup since).
 */
export async function verifyChain(
  db: DbOrTx,
  tenantId: string,
  options: VerifyOptions = {},
): Promise<ChainVerification> {
  const key = options.key ?? auditKeyOf(db);
  const checkpoint = options.checkpoint;
  const walk = await walkChain(db, tenantId, key, CHAIN_START, {
    ...(checkpoint ? { watchSeq: checkpoint.seq } : {}),
    ...(options.predatesKeying ? { predatesKeying: true } : {}),
  });
  const result: ChainVerification = {
    ok: walk.firstBad === undefined,
    entries: walk.count,
    ...(walk.firstBad ? { firstBad: walk.firstBad } : {}),
    headHash: walk.head.hash,
    ...(walk.unkeyed > 0 ? { unkeyedEntries: walk.unkeyed } : {}),
  };
  if (!checkpoint) return result;
  result.checkpoint = checkpoint;
  // A broken entry is the finding; what follows it cannot be compared with anything.
  if (walk.firstBad) return result;
  const disagreement = compareWithCheckpoint(key, tenantId, checkpoint, walk);
  if (!disagreement) return result;
  result.ok = false;
  if ("problem" in disagreement) result.checkpointProblem = disagreement.problem;
  else {
    result.firstBad = disagreement.firstBad;
    result.entries = disagreement.firstBad.seq - 1;
    result.headHash = disagreement.headHash;
  }
  return result;
}

/** How a fully walked chain disagrees with a checkpoint of it, or null when it agrees (or was restored since). */
export function compareWithCheckpoint(
  key: AuditKey,
  tenantId: string,
  checkpoint: AuditCheckpoint,
  walk: ChainWalk,
): { problem: string } | { firstBad: { seq: number; id: string; reason: string }; headHash: string } | null {
  if (checkpoint.tenantId !== tenantId)
    return { problem: `the checkpoint is of another chain (${checkpoint.tenantId})` };
  if (!checkpointSignatureValid(key, checkpoint))
    return { problem: "the checkpoint's signature does not verify: it was not written with the audit key" };
  const signedAt = Date.parse(checkpoint.time);
  if (walk.restores.some((at) => at > signedAt)) return null;
  if (walk.head.seq < checkpoint.seq) {
    const missing =
      walk.head.seq + 1 === checkpoint.seq
        ? `entry #${checkpoint.seq} was`
        : `entries #${walk.head.seq + 1} to #${checkpoint.seq} were`;
    return {
      problem: `the chain ends at entry #${walk.head.seq}, but the checkpoint signed at ${checkpoint.time} records #${checkpoint.seq}: ${missing} deleted`,
    };
  }
  const at = walk.watched;
  if (at && at.hash !== checkpoint.headHash)
    return {
      firstBad: {
        seq: checkpoint.seq,
        id: at.id,
        reason: `differs from the checkpoint signed at ${checkpoint.time}: the chain was rewritten or replaced`,
      },
      headHash: at.prevHash,
    };
  return null;
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
