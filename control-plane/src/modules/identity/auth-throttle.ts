import { ChurnError } from "#shared/errors.ts";
import { BoundedLru } from "../../platform/cache/bounded-lru.ts";

export interface AuthThrottleOptions {
  /** Failed attempts per client id within `windowMs` before further attempts are refused unhashed. */
  maxFailures: number;
  windowMs: number;
  /** scrypt verifications running at once; more is refused (429) rather than queued behind the CPU. */
  maxConcurrentHashes: number;
  now?: () => number;
}

export const AUTH_THROTTLE_DEFAULTS: AuthThrottleOptions = {
  maxFailures: 10,
  windowMs: 60_000,
  maxConcurrentHashes: 8,
};

/**
 * Every client-secret check that misses the verified-secret cache costs a deliberate scrypt (unknown ids
 * too, so timing does not tell them apart): a flood of wrong credentials would otherwise buy the attacker
 * the control plane's CPU. Failures are counted per client id and refused before hashing once over the
 * limit, and the number of hashes in flight is capped. A client whose correct secret is in the
 * verified-secret cache is never hashed, so it keeps working while its id is being attacked.
 */
export class AuthThrottle {
  readonly #failures: BoundedLru<{ count: number; windowStart: number }>;
  readonly #options: AuthThrottleOptions;
  readonly #now: () => number;
  #hashing = 0;

  constructor(options: Partial<AuthThrottleOptions> = {}) {
    this.#options = { ...AUTH_THROTTLE_DEFAULTS, ...options };
    this.#now = options.now ?? Date.now;
    this.#failures = new BoundedLru({ maxEntries: 10_000, now: this.#now });
  }

  /** Refuses (429) a client id that failed too often in the current window. */
  check(clientId: string): void {
    const entry = this.#failures.get(clientId);
    if (!entry || entry.count < this.#options.maxFailures) return;
    const retryAfter = Math.max(
      1,
      Math.ceil((entry.windowStart + this.#options.windowMs - this.#now()) / 1000),
    );
    throw new ChurnError(
      "RATE_LIMITED",
      "Too many failed authentication attempts for this client; retry later",
      {
        headers: { "retry-after": String(retryAfter) },
      },
    );
  }

  recordFailure(clientId: string): void {
    const now = this.#now();
    const entry = this.#failures.get(clientId);
    if (!entry || now - entry.windowStart >= this.#options.windowMs) {
      this.#failures.set(clientId, { count: 1, windowStart: now }, now + this.#options.windowMs);
    } else {
      entry.count++;
    }
  }

  recordSuccess(clientId: string): void {
    this.#failures.delete(clientId);
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
