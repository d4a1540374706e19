import { Hono } from "hono";
import { exportJWK, generateKeyPair, type JWTPayload, SignJWT } from "jose";
import { convertV4MiniflareOptions, Miniflare } from "miniflare";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { renderError } from "#shared/http-errors.ts";
import { newId } from "#shared/ids.ts";
import { kvKeys } from "#shared/kv.ts";
import { TOKEN_ALG } from "#shared/oauth.ts";
import type { HonoEnv } from "../../edge/src/env.ts";
import { type KeyResolver, kvKeyResolver, requireToken } from "../../edge/src/middleware/auth.ts";
import { requestContext } from "../../edge/src/middleware/request-context.ts";

/**
 * The edge's token check, driven in Node: the middleware is plain Hono and jose, so it runs here against
 * Miniflare's real KV namespace (the workerd suites cover it behind the real routes; this one lets the
 * mutation run reach it). Each test mints tokens for its own tenant and publishes its JWKS under its own key.
 */

const ISSUER = "urn:churn:test-issuer";
const AUDIENCE = "urn:churn:test-edge";

let mf: Miniflare;
let kv: KVNamespace;
beforeAll(async () => {
  mf = new Miniflare(
    convertV4MiniflareOptions({
      modules: true,
      script: "export default { fetch() { return new Response('') } }",
      kvNamespaces: ["EDGE_KV"],
      compatibilityDate: "2026-07-01",
      cf: false,
    }),
  );
  kv = (await mf.getKVNamespace("EDGE_KV")) as unknown as KVNamespace;
});
afterAll(() => mf?.dispose());
afterEach(() => vi.useRealTimers());

interface SigningKey {
  kid: string;
  privateKey: CryptoKey;
  publicJwk: Record<string, unknown>;
}

async function signingKey(): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(TOKEN_ALG, { crv: "Ed25519" });
  const kid = newId("key");
  return { kid, privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid, alg: TOKEN_ALG, use: "sig" } };
}

async function publishJwks(jwksKey: string, keys: SigningKey[]): Promise<void> {
  await kv.put(jwksKey, JSON.stringify({ keys: keys.map((k) => k.publicJwk) }));
}

interface MintOptions {
  claims?: JWTPayload;
  issuer?: string;
  audience?: string;
  /** Epoch seconds. */
  expiresAt?: number;
}

/** One tenant's API client, with a key published for it; `mint` signs tokens as the control plane does. */
async function newTenant() {
  const jwksKey = `auth:jwks:${newId("request")}`;
  const key = await signingKey();
  await publishJwks(jwksKey, [key]);
  const tenantId = newId("tenant");
  const clientId = newId("client");
  const mint = (key_: SigningKey, options: MintOptions = {}) =>
    new SignJWT({ tid: tenantId, scope: "predict feedback:write", ...options.claims })
      .setProtectedHeader({ alg: TOKEN_ALG, kid: key_.kid, typ: "at+jwt" })
      .setSubject(clientId)
      .setIssuer(options.issuer ?? ISSUER)
      .setAudience(options.audience ?? AUDIENCE)
      .setIssuedAt()
      .setJti(newId("token"))
      .setExpirationTime(options.expiresAt ?? Math.floor(Date.now() / 1000) + 300)
      .sign(key_.privateKey);
  return {
    jwksKey,
    key,
    tenantId,
    clientId,
    mint: (options?: MintOptions) => mint(key, options),
    mintWith: mint,
  };
}

/** A one-route app behind the middleware, rendering errors as the edge app does; it echoes the principal. */
function appWith(resolver: KeyResolver, scope: "predict" | "feedback:write" = "predict") {
  const app = new Hono<HonoEnv>();
  app.use("*", requestContext());
  app.onError((err, c) => renderError(c, err, c.get("requestId") ?? "unknown", () => {}));
  app.get("/protected", requireToken({ resolver, scope }), (c) => {
    const p = c.get("principal");
    return c.json({ tenantId: p.tenantId, clientId: p.clientId, scopes: [...p.scopes].sort() });
  });
  const background: Promise<unknown>[] = [];
  const call = (authorization: string | null) =>
    Promise.resolve(
      app.request(
        "/protected",
        { headers: authorization === null ? {} : { authorization } },
        { EDGE_KV: kv, TOKEN_ISSUER: ISSUER, TOKEN_AUDIENCE: AUDIENCE },
        { waitUntil: (p: Promise<unknown>) => background.push(p), passThroughOnException() {}, props: {} },
      ),
    );
  return { call, settle: () => Promise.all(background.splice(0)) };
}

async function expectRefused(res: Response, status: number, code: string, message: RegExp): Promise<void> {
  const body = (await res.json()) as { error: { code: string; message: string } };
  expect(res.status).toBe(status);
  expect(body.error.code).toBe(code);
  expect(body.error.message).toMatch(message);
  if (status === 401) expect(res.headers.get("www-authenticate")).toBe('Bearer realm="churn"');
}

describe("edge token verification", () => {
  it("refuses to build without a key resolver", () => {
    expect(() => requireToken({ resolver: undefined as unknown as KeyResolver, scope: "predict" })).toThrow(
      /key resolver is required/,
    );
  });

  it("passes the tenant, client and scopes of a valid token on to the route", async () => {
    const t = await newTenant();
    const { call } = appWith(kvKeyResolver(t.jwksKey));
    const res = await call(`Bearer ${await t.mint()}`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      tenantId: t.tenantId,
      clientId: t.clientId,
      scopes: ["feedback:write", "predict"],
    });
  });

  it("accepts the scheme in any case, and refuses a missing header or any other shape", async () => {
    const t = await newTenant();
    const { call } = appWith(kvKeyResolver(t.jwksKey));
    const token = await t.mint();
    expect((await call(`bearer ${token}`)).status).toBe(200);
    expect((await call(`Bearer    ${token}`)).status).toBe(200);
    await expectRefused(await call(null), 401, "UNAUTHORIZED", /Missing Authorization header/);
    for (const header of [`Basic ${token}`, "Bearer ", `Bearer ${token} extra`, `x Bearer ${token}`]) {
      await expectRefused(await call(header), 401, "UNAUTHORIZED", /must be 'Bearer <token>'/);
    }
    await expectRefused(await call(`Bearer ${token}!`), 401, "UNAUTHORIZED", /must be 'Bearer <token>'/);
  });

  it("refuses a token without the route's scope with 403, naming the scope", async () => {
    const t = await newTenant();
    const { call } = appWith(kvKeyResolver(t.jwksKey), "feedback:write");
    const res = await call(`Bearer ${await t.mint({ claims: { scope: "predict" } })}`);
    await expectRefused(res, 403, "INSUFFICIENT_SCOPE", /needs the 'feedback:write' scope/);
  });

  it("refuses wrong issuer, audience, signer or missing claims with 401", async () => {
    const t = await newTenant();
    const { call } = appWith(kvKeyResolver(t.jwksKey));
    const stranger = await signingKey();
    const invalid = /invalid or expired/;
    await expectRefused(
      await call(`Bearer ${await t.mint({ issuer: "urn:evil" })}`),
      401,
      "UNAUTHORIZED",
      invalid,
    );
    await expectRefused(
      await call(`Bearer ${await t.mint({ audience: "urn:other" })}`),
      401,
      "UNAUTHORIZED",
      invalid,
    );
    await expectRefused(await call("Bearer not.a.jwt"), 401, "UNAUTHORIZED", invalid);
    // Same kid as the published key, signed by another: the signature does not verify.
    const forged = await t.mintWith({ ...stranger, kid: t.key.kid });
    await expectRefused(await call(`Bearer ${forged}`), 401, "UNAUTHORIZED", invalid);
    const noTenant = await t.mint({ claims: { tid: undefined } });
    await expectRefused(await call(`Bearer ${noTenant}`), 401, "UNAUTHORIZED", /missing required claims/);
  });

  it("allows 30 seconds of clock skew past expiry, and no more", async () => {
    const t = await newTenant();
    const { call } = appWith(kvKeyResolver(t.jwksKey));
    const now = Math.floor(Date.now() / 1000);
    expect((await call(`Bearer ${await t.mint({ expiresAt: now - 20 })}`)).status).toBe(200);
    await expectRefused(
      await call(`Bearer ${await t.mint({ expiresAt: now - 40 })}`),
      401,
      "UNAUTHORIZED",
      /invalid or expired/,
    );
  });

  it("stops accepting a remembered token once it expires past the leeway", async () => {
    const t = await newTenant();
    const { call } = appWith(kvKeyResolver(t.jwksKey));
    const now = Math.floor(Date.now() / 1000);
    const token = await t.mint({ expiresAt: now + 60 });
    expect((await call(`Bearer ${token}`)).status).toBe(200);
    vi.useFakeTimers({ toFake: ["Date"], now: (now + 60 + 25) * 1000 });
    expect((await call(`Bearer ${token}`)).status).toBe(200);
    vi.setSystemTime((now + 60 + 31) * 1000);
    await expectRefused(await call(`Bearer ${token}`), 401, "UNAUTHORIZED", /invalid or expired/);
  });

  it("remembers a verified token until it expires, past a change of the published keys", async () => {
    const t = await newTenant();
    const other = await newTenant();
    const { call, settle } = appWith(kvKeyResolver(t.jwksKey));
    const now = Math.floor(Date.now() / 1000);
    const remembered = await t.mint({ expiresAt: now + 90 });
    expect((await call(`Bearer ${remembered}`)).status).toBe(200);
    // Another client's token is verified in between: the first stays remembered.
    expect((await appWith(kvKeyResolver(other.jwksKey)).call(`Bearer ${await other.mint()}`)).status).toBe(
      200,
    );

    // The key is withdrawn; once the cached key set (60 s) has been refreshed, new tokens of that key fail.
    await publishJwks(t.jwksKey, [await signingKey()]);
    vi.useFakeTimers({ toFake: ["Date"], now: (now + 61) * 1000 });
    await call(`Bearer ${await t.mint()}`);
    await settle();
    await expectRefused(await call(`Bearer ${await t.mint()}`), 401, "UNAUTHORIZED", /invalid or expired/);
    expect((await call(`Bearer ${remembered}`)).status).toBe(200);
  });

  it("re-reads the key set when a token names a key published after the cached copy", async () => {
    const t = await newTenant();
    const { call } = appWith(kvKeyResolver(t.jwksKey));
    expect((await call(`Bearer ${await t.mint()}`)).status).toBe(200);
    const rotated = await signingKey();
    await publishJwks(t.jwksKey, [t.key, rotated]);
    expect((await call(`Bearer ${await t.mintWith(rotated)}`)).status).toBe(200);
  });

  it("reads the key set the control plane publishes, under its KV key, by default", async () => {
    const t = await newTenant();
    await publishJwks(kvKeys.jwks(), [t.key]);
    const { call } = appWith(kvKeyResolver());
    expect((await call(`Bearer ${await t.mint()}`)).status).toBe(200);
  });

  it("answers 503 while no verification keys are published, rather than blaming the token", async () => {
    const t = await newTenant();
    const { call } = appWith(kvKeyResolver(`auth:jwks:unpublished-${newId("request")}`));
    await expectRefused(await call(`Bearer ${await t.mint()}`), 503, "UNAVAILABLE", /not published yet/);
  });

  it("refuses every token of a revoked client, also one it already verified", async () => {
    const t = await newTenant();
    const other = await newTenant();
    const { call, settle } = appWith(kvKeyResolver(t.jwksKey));
    const otherApp = appWith(kvKeyResolver(other.jwksKey));
    const token = await t.mint();
    expect((await call(`Bearer ${token}`)).status).toBe(200);
    // Revoked at epoch 0: any recorded revocation counts, whatever its time.
    await kv.put(kvKeys.revokedClients(), JSON.stringify({ clients: { [t.clientId]: 0 } }));
    // Until the cached (absent) list is refreshed, the revocation is not seen: it takes effect within 10 s.
    expect((await call(`Bearer ${token}`)).status).toBe(200);
    // The revocation list is cached for 10 s and refreshed in the background after that (the isolate-wide
    // cache may have been read at an earlier test's clock, so step well past it).
    vi.useFakeTimers({ toFake: ["Date"], now: Date.now() + 120_000 });
    await call(`Bearer ${token}`);
    await settle();
    await expectRefused(await call(`Bearer ${token}`), 401, "UNAUTHORIZED", /has been revoked/);
    await expectRefused(await call(`Bearer ${await t.mint()}`), 401, "UNAUTHORIZED", /has been revoked/);
    expect((await otherApp.call(`Bearer ${await other.mint()}`)).status).toBe(200);
  });
});
