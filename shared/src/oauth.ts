import { z } from "zod";

export const tokenRequestSchema = z.object({
  grant_type: z.string(),
  client_id: z.string().max(128).optional(),
  client_secret: z.string().max(256).optional(),
  scope: z.string().max(512).optional(),
});

export const tokenResponseSchema = z
  .object({
    access_token: z.string(),
    token_type: z.literal("Bearer"),
    expires_in: z.number().int().positive(),
    scope: z.string(),
  })
  .meta({ id: "TokenResponse" });
export type TokenResponse = z.infer<typeof tokenResponseSchema>;

/** Claims of the platform's access tokens; the tenant comes only from `tid`. */
/**
 * The longest an access token lives. Both services refuse a token issued longer ago than this, whatever its
 * `exp` says: a token forged with a leaked signing key dies within this time of the key's rotation, and the
 * revocation list may forget a client after it.
 */
export const MAX_TOKEN_TTL_SECONDS = 86_400;

export const accessTokenClaimsSchema = z.object({
  iss: z.string(),
  aud: z.union([z.string(), z.array(z.string())]),
  sub: z.string(),
  tid: z.string(),
  scope: z.string(),
  exp: z.number(),
  iat: z.number().optional(),
  nbf: z.number().optional(),
  jti: z.string(),
});
export type AccessTokenClaims = z.infer<typeof accessTokenClaimsSchema>;

export const jwkSchema = z.looseObject({
  kty: z.string(),
  kid: z.string(),
  alg: z.string(),
  use: z.string().optional(),
  crv: z.string().optional(),
  x: z.string().optional(),
});
export const jwksSchema = z.object({ keys: z.array(jwkSchema) }).meta({ id: "JWKS" });
export type Jwks = z.infer<typeof jwksSchema>;

/** The only signature algorithm tokens use; verifiers refuse every other. */
export const TOKEN_ALG = "EdDSA" as const;
