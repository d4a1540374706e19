import { ChurnError } from "#shared/errors.ts";
import type { Db } from "../../platform/db/client.ts";
import { writeTransaction } from "../../platform/db/write-transaction.ts";
import { clearFailures, countFailure, failureCounts, pruneFailures } from "./queries/auth-failures.ts";

export interface AuthThrottleOptions {
  /** Failed attempts by one source address on one client id within `windowMs` before it is refused. */
  maxFailures: number;
  /** Failed attempts by one source address across all client ids within `windowMs` (id spraying). */
  maxSourceFailures: number;
  windowMs: number;
  /** scrypt verifications running at once in this process; more is refused (429), not queued. */
  maxConcurrentHashes: number;
  now?: () => number;
}

export const AUTH_THROTTLE_DEFAULTS: AuthThrottleOptions = {
  maxFailures: 10,
  maxSourceFailures: 50,
  windowMs: 60_000,
  maxConcurrentHashes: 8,
};

/** The key under which one source's failures across every client id are counted. */
const ANY_CLIENT = "*";

/**
 * Every client-secret check that misses the verified-secret cache costs a deliberate scrypt (unknown ids
 * too, so timing does not tell them apart): a flood of wrong credentials would otherwise buy the attacker
 * the control plane's CPU. Failures are counted in the database per client id and source address, so
 * every replica sees them: a source over the limit is refused before hashing, while the real client,
 * calling from another address, is never refused because of someone else's failures. Guessing still
 * costs the attacker a fresh address per ten tries per client, and fifty across ids. The number of
 * hashes in flight is capped per process, since that is whose CPU they burn.
 */
export class AuthThrottle {
  readonly #options: AuthThrottleOptions;
  readonly #now: () => number;
  #hashing = 0;

  constructor(options: Partial<AuthThrottleOptions> = {}) {
    this.#options = { ...AUTH_THROTTLE_DEFAULTS, ...options };
    this.#now = options.now ?? Date.now;
  }

  /** Refuses (429) a source that failed too often for this client id, or for any, in the current window. */
  async check(db: Db, clientId: string, source: string): Promise<void> {
    const now = this.#now();
    const { maxFailures, maxSourceFailures, windowMs } = this.#options;
    const counts = await failureCounts(db, source, [clientId, ANY_CLIENT]);
    for (const count of counts) {
      const limit = count.clientId === ANY_CLIENT ? maxSourceFailures : maxFailures;
      const endsAt = count.windowStart + windowMs;
      if (count.failures < limit || endsAt <= now) continue;
      throw new ChurnError(
        "RATE_LIMITED",
        "Too many failed authentication attempts from this address; retry later",
        { headers: { "retry-after": String(Math.max(1, Math.ceil((endsAt - now) / 1000))) } },
      );
    }
  }

  async recordFailure(db: Db, clientId: string, source: string): Promise<void> {
    const now = this.#now();
    await writeTransaction(db, async (tx) => {
      await countFailure(tx, clientId, source, now, this.#options.windowMs);
      await countFailure(tx, ANY_CLIENT, source, now, this.#options.windowMs);
    });
  }

  /** A correct secret clears this source's count for the client (the source-wide count stays). */
  async recordSuccess(db: Db, clientId: string, source: string): Promise<void> {
    await writeTransaction(db, (tx) => clearFailures(tx, clientId, source));
  }

  /** Runs one secret verification within the concurrency cap. */
  async hashing<T>(verify: () => Promise<T>): Promise<T> {
    if (this.#hashing >= this.#options.maxConcurrentHashes) {
      throw new ChurnError("RATE_LIMITED", "Too many authentication attempts in progress; retry shortly", {
        headers: { "retry-after": "1" },
      });
    }
    this.#hashing++;
    try {
      return await verify();
    } finally {
      this.#hashing--;
    }
  }
}

/** Deletes failure windows that ended before `now`; run by the scheduler. */
export function pruneAuthFailures(
  db: Db,
  now: number,
  windowMs = AUTH_THROTTLE_DEFAULTS.windowMs,
): Promise<number> {
  return writeTransaction(db, (tx) => pruneFailures(tx, now - windowMs));
}
