import { createHash, timingSafeEqual } from "node:crypto";
import { BoundedLru } from "../../platform/cache/bounded-lru.ts";

const DEFAULT_MAX_ENTRIES = 10_000;
const DEFAULT_TTL_MS = 5 * 60_000;

/**
 * Remembers for a few minutes that a secret matched a stored scrypt hash, so the token endpoint pays scrypt's
 * tens of milliseconds once per client and hash instead of on every request. Entries are keyed by the client
 * id and the stored hash, so a rotation (a new hash) misses at once; the caller still reads the client row on
 * every request, so revocation applies at once too. Only sha256 digests are held, never secrets.
 */
export class VerifiedSecretCache {
  readonly #digests: BoundedLru<Buffer>;
  readonly #ttlMs: number;
  readonly #now: () => number;

  constructor(options: { maxEntries?: number; ttlMs?: number; now?: () => number } = {}) {
    this.#ttlMs = options.ttlMs ?? DEFAULT_TTL_MS;
    this.#now = options.now ?? Date.now;
    this.#digests = new BoundedLru({ maxEntries: options.maxEntries ?? DEFAULT_MAX_ENTRIES, now: this.#now });
  }

  get size(): number {
    return this.#digests.size;
  }

  /** True when `secret` was verified against `storedHash` for this client within the TTL. */
  matches(clientId: string, storedHash: string, secret: string): boolean {
    const remembered = this.#digests.get(cacheKey(clientId, storedHash));
    return remembered !== undefined && timingSafeEqual(remembered, digest(secret));
  }

  /** Records a successful scrypt verification; evicts the least recently used entry when full. */
  remember(clientId: string, storedHash: string, secret: string): void {
    this.#digests.set(cacheKey(clientId, storedHash), digest(secret), this.#now() + this.#ttlMs);
  }
}

const cacheKey = (clientId: string, storedHash: string) => `${clientId}\n${storedHash}`;
const digest = (secret: string) => createHash("sha256").update(secret, "utf8").digest();
