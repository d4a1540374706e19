import { and, eq, gt, isNull } from "drizzle-orm";
import type { MiddlewareHandler } from "hono";
import { jwtVerify } from "jose";
import { ChurnError } from "../../../shared/src/errors.ts";
import { sha256Hex } from "../../../shared/src/hash.ts";
import { accessTokenClaimsSchema, TOKEN_ALG } from "../../../shared/src/oauth.ts";
import { parseScopeString } from "../../../shared/src/scopes.ts";
import { PAT_PREFIX } from "../auth/pat.ts";
import { isAllowed, type Permission, type Principal } from "../auth/permissions.ts";
import { apiClients, personalAccessTokens, users } from "../db/schema/index.ts";
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
  const tokenHash = await sha256Hex(token);
  const [row] = await deps.db
    .select({ pat: personalAccessTokens, user: users })
    .from(personalAccessTokens)
    .innerJoin(users, eq(users.id, personalAccessTokens.userId))
    .where(
      and(
        eq(personalAccessTokens.tokenHash, tokenHash),
        isNull(personalAccessTokens.revokedAt),
        gt(personalAccessTokens.expiresAt, Date.now()),
      ),
    )
    .limit(1);
  if (!row) throw unauthorized("Personal access token is invalid, expired or revoked");
  return {
    tenantId: row.user.tenantId,
    kind: "user",
    id: row.user.id,
    role: row.user.role,
    scopes: new Set(),
  };
}

async function fromJwt(deps: Deps, token: string): Promise<Principal> {
  let payload: unknown;
  try {
    ({ payload } = await jwtVerify(token, deps.keys.verifyKey, {
      algorithms: [TOKEN_ALG],
      issuer: deps.config.TOKEN_ISSUER,
      audience: deps.config.TOKEN_AUDIENCE,
      clockTolerance: 30,
    }));
  } catch {
    throw unauthorized("Access token is invalid or expired");
  }
  const claims = accessTokenClaimsSchema.safeParse(payload);
  if (!claims.success) throw unauthorized("Access token is missing required claims");
  const [client] = await deps.db
    .select({ id: apiClients.id })
    .from(apiClients)
    .where(
      and(
        eq(apiClients.id, claims.data.sub),
        eq(apiClients.tenantId, claims.data.tid),
        isNull(apiClients.revokedAt),
      ),
    )
    .limit(1);
  if (!client) throw unauthorized("API client is revoked");
  return {
    tenantId: claims.data.tid,
    kind: "client",
    id: claims.data.sub,
    role: null,
    scopes: new Set(parseScopeString(claims.data.scope)),
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
