import { type AuditCheckpoint, type AuditVerification, auditCheckpointSchema } from "#shared/audit.ts";
import { kvKeys } from "#shared/kv.ts";
import type { Db, DbOrTx } from "../../platform/db/client.ts";
import type { EdgeStore } from "../../platform/edge-store/edge-store.ts";
import type { Logger } from "../../platform/env.ts";
import { Lease } from "../../platform/lease.ts";
import { KEYED_CHAIN } from "./audit.ts";
import {
  CHAIN_START,
  type ChainPosition,
  compareWithCheckpoint,
  verifyChain,
  walkChain,
} from "./audit-chain.ts";
import { type AuditKey, auditKeyOf } from "./audit-key.ts";
import { checkpointSignatureValid, signCheckpoint } from "./checkpoint-signature.ts";
import { chainsGrownSince, entryAt, headEntry } from "./queries.ts";

/**
 * Signed checkpoints of every chain's head, kept outside the database: in edge KV (here, on a timer) and
 * beside every backup (platform/db/backup.ts). Whoever can write the database but holds neither the key
 * nor those copies cannot delete a chain's tail, or swap the database for an older copy, without the chain
 * falling short of, or differing from, its last checkpoint.
 */

export interface StoredCheckpoint {
  checkpoint: AuditCheckpoint | null;
  /** KV holds something that is not a checkpoint. */
  problem?: string;
}

export async function readCheckpoint(edge: EdgeStore, tenantId: string): Promise<StoredCheckpoint> {
  const text = await edge.get(kvKeys.auditCheckpoint(tenantId));
  if (text === null) return { checkpoint: null };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    value = undefined;
  }
  const parsed = auditCheckpointSchema.safeParse(value);
  return parsed.success
    ? { checkpoint: parsed.data }
    : {
        checkpoint: null,
        problem: "the stored checkpoint is not a checkpoint: it was not written by the control plane",
      };
}

/** GET /v1/audit/verify and the console: the chain entry by entry, then against its checkpoint in KV. */
export async function verifyTenantChain(
  db: DbOrTx,
  edge: EdgeStore,
  tenantId: string,
): Promise<AuditVerification> {
  const stored = await readCheckpoint(edge, tenantId);
  const result = await verifyChain(db, tenantId, { checkpoint: stored.checkpoint ?? undefined });
  if (stored.problem && result.ok) {
    result.ok = false;
    result.checkpointProblem = stored.problem;
  }
  return { tenantId, ...result };
}

export type CheckpointOutcome =
  | { tenantId: string; result: "written"; checkpoint: AuditCheckpoint }
  | { tenantId: string; result: "current" }
  | { tenantId: string; result: "refused"; reason: string };

/**
 * Signs the chain's head and puts it in KV, after checking the entries since the previous checkpoint (all
 * of them, the first time): the key never signs a head it has not verified. A chain that no longer
 * reaches the previous checkpoint is refused, and the old checkpoint stays as the evidence, so waiting
 * for the next checkpoint does not hide a deleted tail. A restore recorded in the chain since (a keyed
 * `audit.restore` entry) lifts that, and the chain is verified from its first entry instead.
 */
export async function checkpointChain(
  db: DbOrTx,
  edge: EdgeStore,
  key: AuditKey,
  tenantId: string,
  now: Date = new Date(),
): Promise<CheckpointOutcome> {
  const refused = (reason: string): CheckpointOutcome => ({ tenantId, result: "refused", reason });
  const head = await headEntry(db, tenantId);
  if (!head) return { tenantId, result: "current" };
  if (head.chainVersion !== KEYED_CHAIN) return refused("the chain's head is not keyed");
  const stored = await readCheckpoint(edge, tenantId);
  if (stored.problem) return refused(stored.problem);
  const previous = stored.checkpoint;
  let from: ChainPosition = CHAIN_START;
  if (previous) {
    if (previous.seq === head.seq && previous.headHash === head.hash && previous.tenantId === tenantId)
      return { tenantId, result: "current" };
    const at = previous.seq <= head.seq ? await entryAt(db, tenantId, previous.seq) : undefined;
    if (at?.hash === previous.headHash && checkpointSignatureValid(key, previous))
      from = { seq: previous.seq, hash: previous.headHash };
  }
  const walk = await walkChain(db, tenantId, key, from, {
    untilSeq: head.seq,
    ...(previous && from === CHAIN_START ? { watchSeq: previous.seq } : {}),
  });
  if (walk.firstBad) return refused(`entry #${walk.firstBad.seq} does not verify: ${walk.firstBad.reason}`);
  if (previous && from === CHAIN_START) {
    const disagreement = compareWithCheckpoint(key, tenantId, previous, walk);
    if (disagreement)
      return refused("problem" in disagreement ? disagreement.problem : disagreement.firstBad.reason);
  }
  const checkpoint = signCheckpoint(key, { tenantId, seq: walk.head.seq, headHash: walk.head.hash }, now);
  await edge.put(kvKeys.auditCheckpoint(tenantId), JSON.stringify(checkpoint));
  return { tenantId, result: "written", checkpoint };
}

/** The lease the timer's checkpoints run under: one process on the database writes them at a time. */
export const AUDIT_CHECKPOINT_LEASE = "audit-checkpoints";

/**
 * Checkpoints, off the request path: every `intervalMs` the chains that grew since the last pass (found by
 * a rowid watermark, so a pass reads only new entries) get a new checkpoint. The first pass of a process
 * looks at every chain, which also covers entries written while no control plane was checkpointing
 * (`npm run db -- tenant create`, a process that stopped). Deleting entries written since the last pass is
 * what this cannot see: that window is the interval.
 */
export class AuditCheckpointer {
  readonly #db: Db;
  readonly #edge: EdgeStore;
  readonly #log: Logger;
  readonly #key: AuditKey;
  #watermark = 0;
  /** Chains whose last attempt failed (KV unreachable): tried again on the next pass. */
  readonly #retry = new Set<string>();
  #running: Promise<CheckpointOutcome[]> = Promise.resolve([]);

  constructor(deps: { db: Db; edge: EdgeStore; log: Logger }, key: AuditKey = auditKeyOf(deps.db)) {
    this.#db = deps.db;
    this.#edge = deps.edge;
    this.#log = deps.log;
    this.#key = key;
  }

  /** One pass now (after any pass in progress); for the timer, backups, tests and shutdown. */
  flush(now?: Date): Promise<CheckpointOutcome[]> {
    const next = this.#running.then(() => this.#pass(now));
    this.#running = next.catch(() => []);
    return next;
  }

  /** Runs passes on an unref'd timer under a database lease; returns the function that stops it. */
  start(intervalMs: number): () => Promise<void> {
    const lease = new Lease(this.#db, AUDIT_CHECKPOINT_LEASE, 3 * intervalMs);
    let busy = false;
    const timer = setInterval(() => {
      if (busy) return;
      busy = true;
      lease
        .acquire()
        .then((held) => (held ? this.flush() : null))
        .catch((err: unknown) =>
          this.#log.error({
            event: "audit.checkpoint_failed",
            message: err instanceof Error ? err.message : String(err),
          }),
        )
        .finally(() => {
          busy = false;
        });
    }, intervalMs);
    timer.unref();
    return async () => {
      clearInterval(timer);
      await lease.release().catch(() => undefined);
    };
  }

  async #pass(now?: Date): Promise<CheckpointOutcome[]> {
    const grown = this.#watermark === 0 ? null : await chainsGrownSince(this.#db, this.#watermark);
    const chains = new Set([...this.#retry, ...(grown ?? []).map((c) => c.tenantId)]);
    let watermark = this.#watermark;
    if (grown === null) {
      // The first pass: every chain, and the watermark from where the table stands now.
      for (const c of await chainsGrownSince(this.#db, 0)) {
        chains.add(c.tenantId);
        watermark = Math.max(watermark, c.lastRowid);
      }
    } else {
      for (const c of grown) watermark = Math.max(watermark, c.lastRowid);
    }
    this.#watermark = watermark;
    const outcomes: CheckpointOutcome[] = [];
    for (const tenantId of chains) {
      try {
        const outcome = await checkpointChain(this.#db, this.#edge, this.#key, tenantId, now);
        this.#retry.delete(tenantId);
        if (outcome.result === "refused") {
          // Kept for the next pass: a refusal stands until someone looks, and it is logged each time.
          this.#retry.add(tenantId);
          this.#log.error({ event: "audit.checkpoint_refused", tenantId, reason: outcome.reason });
        }
        outcomes.push(outcome);
      } catch (err) {
        this.#retry.add(tenantId);
        this.#log.error({
          event: "audit.checkpoint_failed",
          tenantId,
          message: err instanceof Error ? err.message : String(err),
        });
      }
    }
    return outcomes;
  }
}
