interface Entry<V> {
  value: V;
  expiresAt: number;
  weight: number;
}

/**
 * An in-memory map bounded in entries (and optionally in total weight, e.g. bytes), evicting the least
 * recently used first; entries may also expire. The caches of the hot paths share it, so none can grow
 * without limit however many clients, tokens or models a process sees.
 */
export class BoundedLru<V> {
  readonly #entries = new Map<string, Entry<V>>();
  readonly #maxEntries: number;
  readonly #maxWeight: number;
  readonly #weigh: (value: V) => number;
  readonly #now: () => number;
  #weight = 0;

  constructor(options: {
    maxEntries: number;
    maxWeight?: number;
    weigh?: (value: V) => number;
    now?: () => number;
  }) {
    this.#maxEntries = options.maxEntries;
    this.#maxWeight = options.maxWeight ?? Number.POSITIVE_INFINITY;
    this.#weigh = options.weigh ?? (() => 1);
    this.#now = options.now ?? Date.now;
  }

  get size(): number {
    return this.#entries.size;
  }

  get(key: string): V | undefined {
    const entry = this.#entries.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt <= this.#now()) {
      this.delete(key);
      return undefined;
    }
    // Re-inserting marks it most recently used: Map iteration order is the eviction order.
    this.#entries.delete(key);
    this.#entries.set(key, entry);
    return entry.value;
  }

  set(key: string, value: V, expiresAt = Number.POSITIVE_INFINITY): void {
    this.delete(key);
    const weight = this.#weigh(value);
    if (weight > this.#maxWeight) return; // larger than the whole cache: not worth holding
    while (this.#entries.size >= this.#maxEntries || this.#weight + weight > this.#maxWeight) {
      const oldest = this.#entries.keys().next().value;
      if (oldest === undefined) break;
      this.delete(oldest);
    }
    this.#entries.set(key, { value, expiresAt, weight });
    this.#weight += weight;
  }

  delete(key: string): void {
    const entry = this.#entries.get(key);
    if (!entry) return;
    this.#entries.delete(key);
    this.#weight -= entry.weight;
  }
}
