import { z } from "zod";
import type { Principal } from "./middleware/auth.ts";

export interface Bindings {
  EDGE_KV: KVNamespace;
  TOKEN_ISSUER: string;
  TOKEN_AUDIENCE: string;
}

/** Vars the worker cannot run without; checked on the first request, failing fast with a clear message. */
export const bindingsSchema = z.object({
  TOKEN_ISSUER: z.string().min(1),
  TOKEN_AUDIENCE: z.string().min(1),
  EDGE_KV: z.custom<KVNamespace>(
    (v) => typeof v === "object" && v !== null && "get" in v,
    "KV binding missing",
  ),
});

export interface HonoEnv {
  Bindings: Bindings;
  Variables: {
    requestId: string;
    principal: Principal;
    /** Filled by routes for the per-request wide event. */
    event: Record<string, unknown>;
  };
}
