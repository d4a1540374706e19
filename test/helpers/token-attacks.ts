import { generateKeyPair, SignJWT } from "jose";
import { expect } from "vitest";

/**
 * The token attacks both services must refuse with 401, built against whichever issuer mints the real
 * tokens: the edge's test key in KV or the control plane's active signing key. Pure: no I/O of its own.
 */

const b64url = (value: unknown) =>
  btoa(typeof value === "string" ? value : JSON.stringify(value))
    .replace(/=+$/, "")
    .replace(/\+/g, "-")
    .replace(/\//g, "_");

const fromB64url = (part: string) => atob(part.replace(/-/g, "+").replace(/_/g, "/"));

export interface MintOptions {
  audience?: string;
  issuer?: string;
  /** Absolute epoch seconds. */
  expiresAt?: number;
  /** Absolute epoch seconds. */
  notBefore?: number;
  /** Absolute epoch seconds; `null` leaves the claim out. */
  issuedAt?: number | null;
  kid?: string;
  key?: CryptoKey;
}

/** Mints access tokens exactly as the service under test accepts them, with one thing changed at a time. */
export interface TokenMinter {
  /** The kid of the key the service verifies with. */
  kid: string;
  /** The public key's `x`, the secret an algorithm-confusion attacker would try for HS256. */
  publicX: string;
  mint(options?: MintOptions): Promise<string>;
}

/** Every way a client might forge or misuse a JWT access token, by label. */
export async function jwtForgeries(minter: TokenMinter): Promise<Record<string, string>> {
  const valid = await minter.mint();
  const [header, payload, signature] = valid.split(".") as [string, string, string];
  const claims = JSON.parse(fromB64url(payload)) as Record<string, unknown>;
  const foreign = await generateKeyPair("EdDSA", { crv: "Ed25519" });
  const now = Math.floor(Date.now() / 1000);
  return {
    "alg none": `${b64url({ alg: "none", typ: "JWT" })}.${payload}.`,
    "HS256 signed with the public key": await new SignJWT(claims)
      .setProtectedHeader({ alg: "HS256", kid: minter.kid })
      .sign(new TextEncoder().encode(minter.publicX)),
    expired: await minter.mint({ expiresAt: now - 3600 }),
    "not yet valid": await minter.mint({ notBefore: now + 3600 }),
    // What a forger holding a leaked key would sign: a far-off exp, so the token outlives the key's rotation.
    "issued longer ago than the longest token lifetime": await minter.mint({
      issuedAt: now - 86_400 - 3600,
      expiresAt: now + 3600,
    }),
    "no issued-at claim": await minter.mint({ issuedAt: null }),
    "wrong audience": await minter.mint({ audience: "urn:someone-else" }),
    "wrong issuer": await minter.mint({ issuer: "urn:evil" }),
    "unknown kid": await minter.mint({ kid: "key_unknown000000000000" }),
    "foreign key with our kid": await minter.mint({ key: foreign.privateKey as CryptoKey }),
    "tampered payload": `${header}.${b64url({ ...claims, tid: "tnt_someoneelse0000000000" })}.${signature}`,
    "not a JWT": "hello",
  };
}

/** Authorization headers that are wrong before any token is read (`null`: no header at all). */
export const SCHEME_ATTACKS: Readonly<Record<string, string | null>> = {
  "missing token": null,
  "wrong scheme": "Basic abc",
  "empty bearer": "Bearer ",
};

/** 401 with the error envelope: UNAUTHORIZED, a message, and the request id also sent as x-request-id. */
export async function expectUnauthorized(res: Response, label: string): Promise<void> {
  const text = await res.text();
  expect(res.status, `${label} → ${text}`).toBe(401);
  const body = JSON.parse(text) as { error?: { code?: string; message?: string; requestId?: string } };
  expect(body.error?.code, label).toBe("UNAUTHORIZED");
  expect(body.error?.message, label).toBeTruthy();
  expect(body.error?.requestId, label).toMatch(/^[A-Za-z0-9_-]{8,64}$/);
  expect(res.headers.get("x-request-id"), label).toBe(body.error?.requestId);
}
