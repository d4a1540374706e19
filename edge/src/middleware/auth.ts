import type { MiddlewareHandler } from "hono";
import { createLocalJWKSet, type JWTVerifyGetKey, jwtVerify } from "jose";
import { ChurnError } from "#shared/errors.ts";
import { kvKeys, type RevokedClients, revokedClientsSchema } from "#shared/kv.ts";
import { accessTokenClaimsSchema, jwksSchema, MAX_TOKEN_TTL_SECONDS, TOKEN_ALG } from "#shared/oauth.ts";
import { parseScopeString, type Scope } from "#shared/scopes.ts";
import { sha256HexSync } from "#shared/sha256-sync.ts";
import type { HonoEnv } from "../env.ts";
import { KvSwrCache, parseJsonWith, type WaitUntil } from "../kv-cache.ts";

export interface Principal {
  tenantId: string;
  clientId: string;
  scopes: ReadonlySet<string>;
  /** Expiry (epoch seconds) for the verified-token cache: `exp`, or sooner when the token reaches its maximum age. */
  exp: number;
}

/** Where verification keys come from: KV in the worker; tests may inject another source. */
export interface KeyResolver {
  /** The key getter; `force` re-reads now (a token names a kid the cached set lacks). */
  get(kv: KVNamespace, waitUntil: WaitUntil, force: boolean): Promise<JWTVerifyGetKey>;
}

const JWKS_FRESH_MS = 60_000;
/** Tokens naming keys the cached JWKS lacks force a re-read at most once a second per isolate. */
const JWKS_FORCE_MIN_INTERVAL_MS = 1_000;
const REVOCATIONS_FRESH_MS = 10_000;
const VERIFIED_TOKENS_MAX = 10_000;

/** JWKS read from KV and cached in the isolate; stale copies are served while a refresh runs in waitUntil. */
export function kvKeyResolver(key: string = kvKeys.jwks()): KeyResolver {
  const cache = new KvSwrCache<JWTVerifyGetKey>({
    freshMs: JWKS_FRESH_MS,
    minForceIntervalMs: JWKS_FORCE_MIN_INTERVAL_MS,
    parse: (text) => {
      const jwks = parseJsonWith(jwksSchema)(text);
      return jwks ? createLocalJWKSet(jwks) : null;
    },
  });
  return {
    async get(kv, waitUntil, force) {
      const getKey = await cache.get(kv, key, waitUntil, force);
      if (!getKey) throw new ChurnError("UNAVAILABLE", "Token verification keys are not published yet");
      return getKey;
    },
  };
}

const revocations = new KvSwrCache({
  freshMs: REVOCATIONS_FRESH_MS,
  parse: parseJsonWith(revokedClientsSchema),
  // Most of the time no client is revoked: remember that, rather than reading KV on every request.
  cacheAbsent: true,
});

/**
 * Tokens whose signature and claims were already verified, until they expire. An entry is found by the
 * sha256 of the token's signature and holds the token's header and claims (its first two parts, which
 * are no credential without the signature), compared in full on every hit: so the isolate never holds a
 * usable token, and only the 86-character signature is hashed per request (synchronously: WebCrypto's
 * digest costs an I/O turn). Measured by `npm run bench:edge`; the revocation list is still checked each
 * time.
 */
interface VerifiedToken {
  signedPart: string;
  principal: Principal;
}
const verifiedTokens = new Map<string, VerifiedToken>();

/** The key an access token is remembered by, and the part of it the entry must match. */
function verifiedKey(token: string): { key: string; signedPart: string } {
  const dot = token.lastIndexOf(".");
  return { key: sha256HexSync(token.slice(dot + 1)), signedPart: token.slice(0, dot) };
}

function rememberVerified(key: string, signedPart: string, principal: Principal): void {
  if (verifiedTokens.size >= VERIFIED_TOKENS_MAX) {
    const oldest = verifiedTokens.keys().next().value;
    if (oldest !== undefined) verifiedTokens.delete(oldest);
  }
  verifiedTokens.set(key, { signedPart, principal });
}

/** The cached principal of an already verified token, dropped once expired (with the 30 s leeway). */
function verifiedPrincipal(key: string, signedPart: string): Principal | undefined {
  const entry = verifiedTokens.get(key);
  if (!entry || entry.signedPart !== signedPart) return undefined;
  if (entry.principal.exp + 30 <= Date.now() / 1000) {
    verifiedTokens.delete(key);
    return undefined;
  }
  return entry.principal;
}

/** The revocation list, without a wait while the isolate holds it (the usual case). */
function revokedClients(
  kv: KVNamespace,
  waitUntil: WaitUntil,
): RevokedClients | null | Promise<RevokedClients | null> {
  const held = revocations.peek(kv, kvKeys.revokedClients(), waitUntil);
  return held !== undefined ? held : revocations.get(kv, kvKeys.revokedClients(), waitUntil);
}

const unauthorized = (message: string) =>
  new ChurnError("UNAUTHORIZED", message, { headers: { "www-authenticate": 'Bearer realm="churn"' } });

async function verify(
  token: string,
  resolver: KeyResolver,
  env: HonoEnv["Bindings"],
  waitUntil: WaitUntil,
): Promise<Principal> {
  const verifyOptions = {
    algorithms: [TOKEN_ALG],
    issuer: env.TOKEN_ISSUER,
    audience: env.TOKEN_AUDIENCE,
    clockTolerance: 30,
    // Requires `iat` and bounds a token's life whatever its `exp` claims (a key leak stays contained).
    maxTokenAge: MAX_TOKEN_TTL_SECONDS,
  };
  let payload: unknown;
  try {
    const getKey = await resolver.get(env.EDGE_KV, waitUntil, false);
    try {
      ({ payload } = await jwtVerify(token, getKey, verifyOptions));
    } catch (err) {
      if ((err as { code?: string }).code !== "ERR_JWKS_NO_MATCHING_KEY") throw err;
      // A key published after our cached copy: re-read the JWKS once.
      ({ payload } = await jwtVerify(token, await resolver.get(env.EDGE_KV, waitUntil, true), verifyOptions));
    }
  } catch (err) {
    if (err instanceof ChurnError) throw err;
    throw unauthorized("Access token is invalid or expired");
  }
  const claims = accessTokenClaimsSchema.safeParse(payload);
  if (!claims.success) throw unauthorized("Access token is missing required claims");
  return {
    tenantId: claims.data.tid,
    clientId: claims.data.sub,
    scopes: new Set(parseScopeString(claims.data.scope)),
    exp: Math.min(claims.data.exp, (claims.data.iat ?? 0) + MAX_TOKEN_TTL_SECONDS),
  };
}

/**
 * Verifies the bearer JWT (fixed algorithm, issuer, audience, time claims with 30 s leeway), refuses revoked
 * clients and checks the route's scope. The tenant comes from the token alone.
 */
export function requireToken(options: { resolver: KeyResolver; scope: Scope }): MiddlewareHandler<HonoEnv> {
  if (!options.resolver) throw new Error("requireToken: a key resolver is required");
  return async (c, next) => {
    const header = c.req.header("authorization");
    if (!header) throw unauthorized("Missing Authorization header: send 'Bearer <token>'");
    const match = /^Bearer\s+([A-Za-z0-9._~+/=-]+)$/i.exec(header);
    if (!match) throw unauthorized("Authorization header must be 'Bearer <token>'");
    const token = match[1]!;
    const waitUntil: WaitUntil = (p) => c.executionCtx.waitUntil(p);
    const { key, signedPart } = verifiedKey(token);
    let principal = verifiedPrincipal(key, signedPart);
    if (!principal) {
      principal = await verify(token, options.resolver, c.env, waitUntil);
      rememberVerified(key, signedPart, principal);
    }
    // Read only once the token is verified: a read started for a request that then fails would be left
    // to a request context that has ended.
    const revocationList = revokedClients(c.env.EDGE_KV, waitUntil);
    const revoked = revocationList instanceof Promise ? await revocationList : revocationList;
    if (revoked?.clients[principal.clientId] !== undefined)
      throw unauthorized("This API client has been revoked");
    if (!principal.scopes.has(options.scope)) {
      throw new ChurnError("INSUFFICIENT_SCOPE", `This route needs the '${options.scope}' scope`);
    }
    c.set("principal", principal);
    await next();
  };
}
