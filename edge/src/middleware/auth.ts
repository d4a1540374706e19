import type { MiddlewareHandler } from "hono";
import { createLocalJWKSet, type JWTVerifyGetKey, jwtVerify } from "jose";
import { ChurnError } from "../../../shared/src/errors.ts";
import { accessTokenClaimsSchema, jwksSchema, TOKEN_ALG } from "../../../shared/src/oauth.ts";
import { parseScopeString, type Scope } from "../../../shared/src/scopes.ts";
import type { HonoEnv } from "../env.ts";

export interface Principal {
  tenantId: string;
  clientId: string;
  scopes: ReadonlySet<string>;
}

/** Where verification keys come from: KV in the worker, a local JWKS in tests. */
export interface KeyResolver {
  /** Returns the key getter, refreshing in the background when stale; `force` re-reads now (unknown kid). */
  get(kv: KVNamespace, waitUntil: (p: Promise<unknown>) => void, force: boolean): Promise<JWTVerifyGetKey>;
}

const JWKS_FRESH_MS = 60_000;

/** JWKS read from KV and cached in the isolate; stale copies are served while a refresh runs in waitUntil. */
export function kvKeyResolver(key: string): KeyResolver {
  let cached: { getKey: JWTVerifyGetKey; fetchedAt: number } | undefined;
  let refreshing: Promise<JWTVerifyGetKey> | undefined;
  const read = async (kv: KVNamespace): Promise<JWTVerifyGetKey> => {
    const text = await kv.get(key, "text");
    const parsed = jwksSchema.safeParse(text ? JSON.parse(text) : null);
    if (!parsed.success) {
      if (cached) return cached.getKey; // keep verifying with the last good set
      throw new ChurnError("UNAVAILABLE", "Token verification keys are not published yet");
    }
    cached = { getKey: createLocalJWKSet(parsed.data), fetchedAt: Date.now() };
    return cached.getKey;
  };
  const refresh = (kv: KVNamespace) => {
    refreshing ??= read(kv).finally(() => (refreshing = undefined));
    return refreshing;
  };
  return {
    async get(kv, waitUntil, force) {
      if (!cached || force) return refresh(kv);
      if (Date.now() - cached.fetchedAt > JWKS_FRESH_MS) waitUntil(refresh(kv).catch(() => {}));
      return cached.getKey;
    },
  };
}

const unauthorized = (message: string) =>
  new ChurnError("UNAUTHORIZED", message, { headers: { "www-authenticate": 'Bearer realm="churn"' } });

/** Verifies the bearer JWT (fixed algorithm, issuer, audience, time claims) and checks the route's scope. */
export function requireToken(options: { resolver: KeyResolver; scope: Scope }): MiddlewareHandler<HonoEnv> {
  if (!options.resolver) throw new Error("requireToken: a key resolver is required");
  return async (c, next) => {
    const header = c.req.header("authorization");
    if (!header) throw unauthorized("Missing Authorization header: send 'Bearer <token>'");
    const match = /^Bearer\s+([A-Za-z0-9._~+/=-]+)$/i.exec(header);
    if (!match) throw unauthorized("Authorization header must be 'Bearer <token>'");
    const token = match[1]!;
    const waitUntil = (p: Promise<unknown>) => c.executionCtx.waitUntil(p);
    const verifyOptions = {
      algorithms: [TOKEN_ALG],
      issuer: c.env.TOKEN_ISSUER,
      audience: c.env.TOKEN_AUDIENCE,
      clockTolerance: 30,
    };
    let payload: unknown;
    try {
      const getKey = await options.resolver.get(c.env.EDGE_KV, waitUntil, false);
      try {
        ({ payload } = await jwtVerify(token, getKey, verifyOptions));
      } catch (err) {
        if ((err as { code?: string }).code !== "ERR_JWKS_NO_MATCHING_KEY") throw err;
        // A key published after our cached copy: re-read the JWKS once.
        const fresh = await options.resolver.get(c.env.EDGE_KV, waitUntil, true);
        ({ payload } = await jwtVerify(token, fresh, verifyOptions));
      }
    } catch (err) {
      if (err instanceof ChurnError) throw err;
      throw unauthorized("Access token is invalid or expired");
    }
    const claims = accessTokenClaimsSchema.safeParse(payload);
    if (!claims.success) throw unauthorized("Access token is missing required claims");
    const scopes = new Set(parseScopeString(claims.data.scope));
    if (!scopes.has(options.scope)) {
      throw new ChurnError("INSUFFICIENT_SCOPE", `This route needs the '${options.scope}' scope`);
    }
    c.set("principal", { tenantId: claims.data.tid, clientId: claims.data.sub, scopes });
    await next();
  };
}
