import { DurableObject } from "cloudflare:workers";
import type { RateLimit } from "#shared/kv.ts";
import { TokenBucket } from "./token-bucket.ts";

export interface LeaseResult {
  granted: number;
  /** Tokens left in the global bucket after this lease. */
  remaining: number;
  /** When nothing was granted: milliseconds until a token is available. */
  retryAfterMs: number;
}

/**
 * The global token bucket for one tenant or one API client (one object per key, named by idFromName).
 * Isolates lease tokens in small batches instead of calling per request, so the bucket stays exact within
 * one lease per isolate while the hot path rarely leaves the isolate.
 */
export class RateLimiter extends DurableObject {
  #bucket: TokenBucket | undefined;

  lease(limit: RateLimit, want: number): LeaseResult {
    const now = Date.now();
    this.#bucket ??= new TokenBucket(limit, now);
    const granted = this.#bucket.take(limit, want, now);
    return {
      granted,
      remaining: Math.floor(this.#bucket.tokens),
      retryAfterMs: granted > 0 ? 0 : this.#bucket.waitMs(limit),
    };
  }
}
