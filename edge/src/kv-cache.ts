export type WaitUntil = (p: Promise<unknown>) => void;

/** A background refresh still pending after this long is given up on, and the next request starts another. */
const REFRESH_GIVE_UP_MS = 10_000;

interface Entry<T> {
  /** null: the key is absent in KV (remembered too, so an absent key costs no read per request). */
  value: T | null;
  fetchedAt: number;
  refreshing: Promise<T | null> | undefined;
  /** When `refreshing` started: a refresh that never settles must not stop every later one. */
  refreshStartedAt?: number;
  /** When a caller last forced a read, for `minForceIntervalMs`. */
  forcedAt?: number;
}

/**
 * Isolate-scope cache of small mutable KV values (JWKS, revocation list, deployment pointers): a value is
 * served from memory while fresh, served stale while a refresh runs in waitUntil, and read from KV only when
 * absent. A value that fails to parse never replaces a good one.
 */
export class KvSwrCache<T> {
  readonly #entries = new Map<string, Entry<T>>();
  /** Reads of keys not held yet, so concurrent cold requests (or a prefetch and its request) share one. */
  readonly #firstReads = new Map<string, Promise<T | null>>();
  readonly #freshMs: number;
  readonly #parse: (text: string) => T | null;
  readonly #cacheAbsent: boolean;
  readonly #minForceIntervalMs: number;

  /**
   * `cacheAbsent`: remember that a key is missing (a revocation list that does not exist yet) instead of
   * re-reading it on every request; leave it off where absence is about to end (a tenant's first deployment).
   */
  /**
   * `minForceIntervalMs`: a forced read within this long of the last forced read answers with what that one
   * read (or waits for it) instead, so requests that keep forcing (tokens naming made-up key ids) cost one KV
   * read per interval, while the first force after a quiet spell (a key rotated a moment ago) reads at once.
   */
  constructor(options: {
    freshMs: number;
    parse: (text: string) => T | null;
    cacheAbsent?: boolean;
    minForceIntervalMs?: number;
  }) {
    this.#freshMs = options.freshMs;
    this.#parse = options.parse;
    this.#cacheAbsent = options.cacheAbsent ?? false;
    this.#minForceIntervalMs = options.minForceIntervalMs ?? 0;
  }

  /** `force` re-reads now (e.g. a token names a key the cached JWKS lacks). */
  async get(kv: KVNamespace, key: string, waitUntil: WaitUntil, force = false): Promise<T | null> {
    const entry = this.#entries.get(key);
    if (!entry) return this.#firstRead(kv, key);
    if (entry.value === null && force) return this.#read(kv, key);
    if (force) {
      const now = Date.now();
      if (entry.forcedAt !== undefined && now - entry.forcedAt < this.#minForceIntervalMs)
        return (await entry.refreshing) ?? entry.value;
      entry.forcedAt = now;
      return (await this.#refresh(kv, key, entry)) ?? entry.value;
    }
    return this.#served(kv, key, entry, waitUntil);
  }

  /**
   * What `get` would answer without waiting, for callers that must not yield: `undefined` when nothing has
   * been read for the key yet (call `get`).
   */
  peek(kv: KVNamespace, key: string, waitUntil: WaitUntil): T | null | undefined {
    const entry = this.#entries.get(key);
    return entry ? this.#served(kv, key, entry, waitUntil) : undefined;
  }

  #firstRead(kv: KVNamespace, key: string): Promise<T | null> {
    let reading = this.#firstReads.get(key);
    if (!reading) {
      reading = this.#read(kv, key).finally(() => this.#firstReads.delete(key));
      this.#firstReads.set(key, reading);
    }
    return reading;
  }

  #served(kv: KVNamespace, key: string, entry: Entry<T>, waitUntil: WaitUntil): T | null {
    const now = Date.now();
    const age = now - entry.fetchedAt;
    // An entry read after the clock stepped back looks younger than it is: stale too, or it would be
    // served unrefreshed until the clock caught up again.
    if (age > this.#freshMs || age < 0) {
      if (entry.refreshing && now - (entry.refreshStartedAt ?? now) > REFRESH_GIVE_UP_MS)
        entry.refreshing = undefined;
      if (!entry.refreshing) waitUntil(this.#refresh(kv, key, entry).catch(() => null));
    }
    return entry.value;
  }

  #refresh(kv: KVNamespace, key: string, entry: Entry<T>): Promise<T | null> {
    if (!entry.refreshing) {
      const refreshing = this.#read(kv, key).finally(() => {
        if (entry.refreshing === refreshing) entry.refreshing = undefined;
      });
      entry.refreshing = refreshing;
      entry.refreshStartedAt = Date.now();
    }
    return entry.refreshing;
  }

  async #read(kv: KVNamespace, key: string): Promise<T | null> {
    const text = await kv.get(key, "text");
    const value = text === null ? null : this.#parse(text);
    const previous = this.#entries.get(key);
    if (text !== null && value === null && previous) {
      previous.fetchedAt = Date.now(); // unparseable: keep serving the last good value until the next window
      return previous.value;
    }
    if (value === null && !this.#cacheAbsent) {
      this.#entries.delete(key);
    } else if (previous) {
      // Update in place: the entry's `refreshing` marker belongs to the refresh that is finishing now.
      previous.value = value;
      previous.fetchedAt = Date.now();
    } else {
      this.#entries.set(key, { value, fetchedAt: Date.now(), refreshing: undefined });
    }
    return value;
  }
}

export function parseJsonWith<T>(schema: {
  safeParse(v: unknown): { success: true; data: T } | { success: false };
}) {
  return (text: string): T | null => {
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch {
      return null;
    }
    const parsed = schema.safeParse(raw);
    return parsed.success ? parsed.data : null;
  };
}
