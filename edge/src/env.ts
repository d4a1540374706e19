import { z } from "zod";
import type { EdgeEvent } from "#shared/events.ts";
import type { TenantLimits } from "#shared/kv.ts";
import type { Principal } from "./middleware/auth.ts";
import type { PredictionQuota } from "./quota/durable-object.ts";
import type { RateLimiter } from "./rate-limit/durable-object.ts";

export interface Bindings {
  EDGE_KV: KVNamespace;
  EVENTS: Queue<EdgeEvent>;
  RATE_LIMITER: DurableObjectNamespace<RateLimiter>;
  /** Monthly prediction counts and quotas, one object per tenant. */
  PREDICTION_QUOTA: DurableObjectNamespace<PredictionQuota>;
  TOKEN_ISSUER: string;
  TOKEN_AUDIENCE: string;
  /** Signs event deliveries to the control plane (HMAC-SHA256). */
  INGEST_SECRET?: string;
  /** Overrides the control-plane URL published in KV. */
  CONTROL_PLANE_URL?: string;
}

/** Vars the worker cannot run without; checked on the first request, failing fast with a clear message. */
export const bindingsSchema = z.object({
  TOKEN_ISSUER: z.string().min(1),
  TOKEN_AUDIENCE: z.string().min(1),
  EDGE_KV: z.custom<KVNamespace>(
    (v) => typeof v === "object" && v !== null && "get" in v,
    "KV binding missing",
  ),
  EVENTS: z.custom<Queue>(
    (v) => typeof v === "object" && v !== null && "send" in v,
    "EVENTS queue binding missing",
  ),
});

export interface HonoEnv {
  Bindings: Bindings;
  Variables: {
    requestId: string;
    principal: Principal;
    /** The tenant's rate limits and quotas as the rate-limit middleware read them (cached per isolate). */
    limits: TenantLimits;
    /** Filled by routes for the per-request wide event. */
    event: Record<string, unknown>;
  };
}
