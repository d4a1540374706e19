import { createHash } from "node:crypto";
import type { MiddlewareHandler } from "hono";
import { errors, jwtVerify } from "jose";
import { ChurnError } from "#shared/errors.ts";
import {
  type AccessTokenClaims,
  accessTokenClaimsSchema,
  MAX_TOKEN_TTL_SECONDS,
  TOKEN_ALG,
} from "#shared/oauth.ts";
import { parseScopeString } from "#shared/scopes.ts";
import { PAT_PREFIX } from "../../modules/identity/pat.ts";
import { isAllowed, type Permission, type Principal } from "../../modules/identity/permissions.ts";
import { liveClient, liveToken } from "../../modules/identity/tokens.ts";
import type { Deps, HonoEnv } from "../env.ts";

const unauthorized = (message: string) =>
  new ChurnError("UNAUTHORIZED", message, { headers: { "www-authenticate": 'Bearer realm="churn"' } });

/** Resolves the caller from a personal access token or a client-credentials JWT. */
export function authenticate(): MiddlewareHandler<HonoEnv> {
  return async (c, next) => {
    const header = c.req.header("authorization");
    if (!header) throw unauthorized("Missing Authorization header: send 'Bearer <token>'");
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    if (!match) throw unauthorized("Authorization header must be 'Bearer <token>'");
    const token = match[1]!;
    const deps = c.get("deps");
    c.set(
      "principal",
      token.startsWith(PAT_PREFIX) ? await fromPat(deps, token) : await fromJwt(deps, token),
    );
    await next();
  };
}

async function fromPat(deps: Deps, token: string): Promise<Principal> {
  const row = await liveToken(deps.db, token);
  if (!row) throw unauthorized("Personal access token is invalid, expired or revoked");
  return {
    tenantId: row.user.tenantId,
    kind: "user",
    id: row.user.id,
    role: row.user.role,
    scopes: new Set(),
  };
}

/** Verifiers accept a token this long past `exp`, for clock skew between machines. */
const CLOCK_TOLERANCE_SECONDS = 30;

async function verifiedClaims(deps: Deps, token: string): Promise<AccessTokenClaims> {
  // Only the verification is remembered: the client row is still read on every request, so revocation
  // and scope changes apply at once.
  const verifiedTokens = deps.caches.verifiedTokens;
  const key = createHash("sha256").update(token).digest("base64url");
  const known = verifiedTokens.get(key);
  if (known) return known;
  const verify = () =>
    jwtVerify(token, deps.keys.verifyKey, {
      algorithms: [TOKEN_ALG],
      issuer: deps.config.TOKEN_ISSUER,
      audience: deps.config.TOKEN_AUDIENCE,
      clockTolerance: CLOCK_TOLERANCE_SECONDS,
      // Requires `iat` and bounds a token's life whatever its `exp` claims.
      maxTokenAge: MAX_TOKEN_TTL_SECONDS,
    });
  let payload: unknown;
  try {
    try {
      ({ payload } = await verify());
    } catch (err) {
      // A key another control-plane process created or rotated in a moment ago: reload the keys (within a
      // second, or with the reload under way), then verify again.
      if (!(err instanceof errors.JWKSNoMatchingKey)) throw err;
      await deps.keys.reloadForUnknownKey();
      ({ payload } = await verify());
    }
  } catch {
    throw unauthorized("Access token is invalid or expired");
  }
  const claims = accessTokenClaimsSchema.safeParse(payload);
  if (!claims.success) throw unauthorized("Access token is missing required claims");
  verifiedTokens.set(key, claims.data, (claims.data.exp + CLOCK_TOLERANCE_SECONDS) * 1000);
  return claims.data;
}

async function fromJwt(deps: Deps, token: string): Promise<Principal> {
  const claims = await verifiedClaims(deps, token);
  const client = await liveClient(deps.db, claims.sub, claims.tid);
  if (!client) throw unauthorized("API client is revoked");
  // A token keeps the scopes it was issued with until it expires; here only those the client still holds
  // count, so narrowing a client's scopes applies at the control plane at once.
  const current = new Set(parseScopeString(client.scopes));
  return {
    tenantId: claims.tid,
    kind: "client",
    id: claims.sub,
    role: null,
    scopes: new Set(parseScopeString(claims.scope).filter((s) => current.has(s))),
  };
}

export function requirePermission(permission: Permission): MiddlewareHandler<HonoEnv> {
  return async (c, next) => {
    if (!isAllowed(c.get("principal"), permission)) {
      throw new ChurnError(
        c.get("principal").kind === "client" ? "INSUFFICIENT_SCOPE" : "FORBIDDEN",
        `This action needs the '${permission}' permission`,
      );
    }
    await next();
  };
}
