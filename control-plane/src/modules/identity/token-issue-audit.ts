import type { Db } from "../../platform/db/client.ts";
import { writeTransaction } from "../../platform/db/write-transaction.ts";
import type { Logger } from "../../platform/env.ts";
import { appendAudit } from "../audit/audit.ts";

/** One access token handed out by the token endpoint. */
export interface Issuance {
  tenantId: string;
  clientId: string;
  scope: string;
  jti: string;
  expiresAt: number;
  ip: string | null;
  userAgent: string | null;
  requestId: string;
}

interface Batch {
  first: Issuance;
  count: number;
  scopes: Set<string>;
  jtis: string[];
  firstAt: number;
  lastAt: number;
  lastExpiresAt: number;
}

/** Ids listed per entry; beyond that the count still holds every token. */
const MAX_JTIS_PER_ENTRY = 1_000;
const DEFAULT_WINDOW_MS = 2_000;

/**
 * `token.issue` in the audit log without a write per token: issuances are gathered per tenant, client and
 * source address and written every window (2 s) as one entry each, with the count, the scopes, the first
 * and last time and the token ids (`jti`), so a leaked token can be traced to its issuance. The token
 * endpoint only adds to a map; one transaction per window appends every batch. A failed write keeps the
 * batches for the next window; what is still gathered when the process stops is written by `close()`,
 * and only a crash loses the current window.
 */
export class TokenIssueAudit {
  readonly #db: Db;
  readonly #log: Logger;
  readonly #pending = new Map<string, Batch>();
  readonly #timer: ReturnType<typeof setInterval>;
  #flushing: Promise<void> = Promise.resolve();

  constructor(db: Db, log: Logger, windowMs = DEFAULT_WINDOW_MS) {
    this.#db = db;
    this.#log = log;
    this.#timer = setInterval(() => void this.flush(), windowMs);
    this.#timer.unref();
  }

  record(issued: Issuance, now = Date.now()): void {
    const key = `${issued.tenantId}\u0000${issued.clientId}\u0000${issued.ip ?? ""}`;
    const batch = this.#pending.get(key);
    if (!batch) {
      this.#pending.set(key, {
        first: issued,
        count: 1,
        scopes: new Set([issued.scope]),
        jtis: [issued.jti],
        firstAt: now,
        lastAt: now,
        lastExpiresAt: issued.expiresAt,
      });
      return;
    }
    batch.count++;
    batch.scopes.add(issued.scope);
    if (batch.jtis.length < MAX_JTIS_PER_ENTRY) batch.jtis.push(issued.jti);
    batch.lastAt = now;
    batch.lastExpiresAt = issued.expiresAt;
  }

  /** Writes what has gathered (after any write already under way); resolves once it is in the log. */
  flush(): Promise<void> {
    this.#flushing = this.#flushing.then(() => this.#write());
    return this.#flushing;
  }

  /** Stops the timer and writes what is left. */
  async close(): Promise<void> {
    clearInterval(this.#timer);
    await this.flush();
  }

  async #write(): Promise<void> {
    if (this.#pending.size === 0) return;
    const batches = [...this.#pending.values()];
    this.#pending.clear();
    try {
      await writeTransaction(this.#db, async (tx) => {
        for (const batch of batches) {
          const { first } = batch;
          await appendAudit(
            tx,
            {
              actor: { type: "client", id: first.clientId },
              requestId: first.requestId,
              ip: first.ip,
              userAgent: first.userAgent,
            },
            {
              tenantId: first.tenantId,
              action: "token.issue",
              targets: [{ type: "client", id: first.clientId }],
              details: {
                count: batch.count,
                scopes: [...batch.scopes],
                firstIssuedAt: new Date(batch.firstAt).toISOString(),
                lastIssuedAt: new Date(batch.lastAt).toISOString(),
                lastExpiresAt: new Date(batch.lastExpiresAt).toISOString(),
                jtis: batch.jtis,
                ...(batch.count > batch.jtis.length ? { jtisOmitted: batch.count - batch.jtis.length } : {}),
              },
            },
          );
        }
      });
    } catch (err) {
      // Kept for the next window rather than lost; a later issuance for the same key starts a new batch.
      for (const batch of batches) {
        const { tenantId, clientId, ip } = batch.first;
        const key = `${tenantId}\u0000${clientId}\u0000${ip ?? ""}\u0000retry:${batch.firstAt}`;
        this.#pending.set(key, batch);
      }
      this.#log.error({
        event: "audit.token_issue_failed",
        batches: batches.length,
        message: err instanceof Error ? err.message : String(err),
      });
    }
  }
}
