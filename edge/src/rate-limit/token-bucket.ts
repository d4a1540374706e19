import type { RateLimit } from "#shared/kv.ts";

/** A token bucket: refills at `ratePerSecond` up to `burst`. Pure, so the maths is tested on its own. */
export class TokenBucket {
  tokens: number;
  #updatedAt: number;

  constructor(limit: RateLimit, now: number) {
    this.tokens = limit.burst;
    this.#updatedAt = now;
  }

  refill(limit: RateLimit, now: number): void {
    const elapsed = Math.max(0, now - this.#updatedAt) / 1000;
    this.tokens = Math.min(limit.burst, this.tokens + elapsed * limit.ratePerSecond);
    this.#updatedAt = now;
  }

  /** Takes up to `want` whole tokens; returns how many were granted. */
  take(limit: RateLimit, want: number, now: number): number {
    this.refill(limit, now);
    const granted = Math.max(0, Math.min(want, Math.floor(this.tokens)));
    this.tokens -= granted;
    return granted;
  }

  /** Milliseconds until one token is available. */
  waitMs(limit: RateLimit): number {
    return this.tokens >= 1 ? 0 : Math.ceil(((1 - this.tokens) / limit.ratePerSecond) * 1000);
  }
}
