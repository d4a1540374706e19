import { generateKeyPair, SignJWT } from "jose";
import { expect } from "vitest";
import type { newTenant } from "./harness.ts";

const b64url = (value: unknown) =>
  btoa(typeof value === "string" ? value : JSON.stringify(value))
    .replace(/=+$/, "")
    .replace(/\+/g, "-")
    .replace(/\//g, "_");

type Tenant = Awaited<ReturnType<typeof newTenant>>;

/** Every way a client might forge or misuse a token; each must get a 401 envelope. */
export async function forgedTokens(tenant: Tenant): Promise<Record<string, string>> {
  const valid = await tenant.token();
  const [header, payload, signature] = valid.split(".") as [string, string, string];
  const claims = JSON.parse(atob(payload.replace(/-/g, "+").replace(/_/g, "/")));
  const foreign = await generateKeyPair("EdDSA", { crv: "Ed25519" });
  const publicX = tenant.key.publicJwk.x as string;
  return {
    "alg none": `${b64url({ alg: "none", typ: "JWT" })}.${payload}.`,
    "HS256 signed with the public key": await new SignJWT(claims)
      .setProtectedHeader({ alg: "HS256", kid: tenant.key.kid })
      .sign(new TextEncoder().encode(publicX)),
    expired: await tenant.token({ expiresIn: Math.floor(Date.now() / 1000) - 3600 }),
    "not yet valid": await tenant.token({ notBefore: Math.floor(Date.now() / 1000) + 3600 }),
    "wrong audience": await tenant.token({ audience: "urn:someone-else" }),
    "wrong issuer": await tenant.token({ issuer: "urn:evil" }),
    "unknown kid": await tenant.token({ kid: "key_unknown000000000000" }),
    "foreign key with our kid": await tenant.token({ key: foreign.privateKey as CryptoKey }),
    "tampered payload": `${header}.${b64url({ ...claims, tid: "tnt_someoneelse0000000000" })}.${signature}`,
    "not a JWT": "hello",
  };
}

export async function expectUnauthorized(res: Response, label: string): Promise<void> {
  expect(res.status, label).toBe(401);
  const body = (await res.json()) as { error: { code: string; requestId: string } };
  expect(body.error.code, label).toBe("UNAUTHORIZED");
  expect(body.error.requestId, label).toBeTruthy();
}

/** Runs the whole attack list against one authenticated route. */
export async function expectTokenAttacksRefused(
  send: (authorization: string | undefined) => Promise<Response>,
  tenant: Tenant,
): Promise<void> {
  await expectUnauthorized(await send(undefined), "missing token");
  await expectUnauthorized(await send("Basic abc"), "wrong scheme");
  for (const [label, token] of Object.entries(await forgedTokens(tenant))) {
    await expectUnauthorized(await send(`Bearer ${token}`), label);
  }
}
