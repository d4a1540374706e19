import { eq } from "drizzle-orm";
import { createLocalJWKSet, decodeJwt, decodeProtectedHeader, type JSONWebKeySet, jwtVerify } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { idPattern } from "#shared/ids.ts";
import { kvKeys } from "#shared/kv.ts";
import { jwksSchema, tokenResponseSchema } from "#shared/oauth.ts";
import { PLATFORM_AUDIT_CHAIN } from "../../control-plane/src/modules/audit/audit.ts";
import { createApp } from "../../control-plane/src/platform/app.ts";
import { apiClients, signingKeys } from "../../control-plane/src/platform/db/schema/index.ts";
import {
  basicAuth,
  type ControlPlaneHarness,
  expectError,
  expectValidAuditChain,
  startControlPlane,
} from "../helpers/control-plane-harness.ts";

const OPERATOR_TOKEN = "op_".padEnd(48, "k");

let h: ControlPlaneHarness;
/** The same control plane as configured without OPERATOR_TOKEN. */
let plain: ReturnType<typeof createApp>;
beforeAll(async () => {
  h = await startControlPlane({ OPERATOR_TOKEN });
  plain = createApp({ ...h.deps, config: { ...h.config, OPERATOR_TOKEN: undefined } });
});
afterAll(() => h?.close());

const FORM = { "content-type": "application/x-www-form-urlencoded" };

async function verifyAgainstJwks(token: string) {
  const res = await h.request("/.well-known/jwks.json");
  expect(res.status).toBe(200);
  const jwks = (await res.json()) as JSONWebKeySet;
  return jwtVerify(token, createLocalJWKSet(jwks), {
    algorithms: ["EdDSA"],
    issuer: h.config.TOKEN_ISSUER,
    audience: h.config.TOKEN_AUDIENCE,
  });
}

describe("POST /v1/oauth/token: happy", () => {
  it("issues a token for HTTP Basic credentials that verifies against the published JWKS", async () => {
    const t = await h.newTenant();
    const client = await t.addApiClient(["predict", "models:read"]);
    const res = await h.request("/v1/oauth/token", {
      method: "POST",
      headers: { ...FORM, authorization: basicAuth(client.clientId, client.clientSecret) },
      body: "grant_type=client_credentials",
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("cache-control")).toBe("no-store");
    expect(res.headers.get("pragma")).toBe("no-cache");
    const body = tokenResponseSchema.parse(await res.json());
    expect(body.token_type).toBe("Bearer");
    expect(body.expires_in).toBe(h.config.TOKEN_TTL_SECONDS);
    expect(body.scope).toBe("predict models:read");

    const { payload, protectedHeader } = await verifyAgainstJwks(body.access_token);
    expect(protectedHeader.alg).toBe("EdDSA");
    expect(protectedHeader.kid).toBe(h.deps.keys.active().kid);
    expect(protectedHeader.typ).toBe("at+jwt");
    expect(payload.iss).toBe(h.config.TOKEN_ISSUER);
    expect(payload.aud).toBe(h.config.TOKEN_AUDIENCE);
    expect(payload.sub).toBe(client.clientId);
    expect(payload["tid"]).toBe(t.tenantId);
    expect(payload["scope"]).toBe("predict models:read");
    expect(payload.jti).toMatch(idPattern("token"));
    expect(payload.exp! - payload.iat!).toBe(h.config.TOKEN_TTL_SECONDS);
    expect(Math.abs(payload.iat! - Date.now() / 1000)).toBeLessThan(10);
  });

  it("accepts the credentials as form fields", async () => {
    const t = await h.newTenant();
    const client = await t.addApiClient(["models:read"]);
    const res = await h.request("/v1/oauth/token", {
      method: "POST",
      headers: FORM,
      body: new URLSearchParams({
        grant_type: "client_credentials",
        client_id: client.clientId,
        client_secret: client.clientSecret,
      }).toString(),
    });
    expect(res.status).toBe(200);
    const body = tokenResponseSchema.parse(await res.json());
    const { payload } = await verifyAgainstJwks(body.access_token);
    expect(payload.sub).toBe(client.clientId);
    expect(payload["tid"]).toBe(t.tenantId);
    expect(payload["scope"]).toBe("models:read");
  });

  it("narrows the token to a requested subset of the granted scopes, and the narrowing is enforced", async () => {
    const t = await h.newTenant();
    const client = await t.addApiClient(["models:read", "models:publish", "deployments:write"]);
    const res = await h.request("/v1/oauth/token", {
      method: "POST",
      headers: { ...FORM, authorization: basicAuth(client.clientId, client.clientSecret) },
      body: new URLSearchParams({ grant_type: "client_credentials", scope: "models:read" }).toString(),
    });
    expect(res.status).toBe(200);
    const body = tokenResponseSchema.parse(await res.json());
    expect(body.scope).toBe("models:read");
    const { payload } = await verifyAgainstJwks(body.access_token);
    expect(payload["scope"]).toBe("models:read");

    // models:read may read the deployment (404: none yet) but not write it.
    const get = await h.request("/v1/deployment", { token: body.access_token });
    expect(get.status).toBe(404);
    const put = await h.request("/v1/deployment", {
      method: "PUT",
      token: body.access_token,
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ production: "mv_unknown" }),
    });
    expect(put.status).toBe(403);
  });

  it("issues a token the control plane itself accepts", async () => {
    const t = await h.newTenant();
    const token = await t.clientToken(["deployments:write"]);
    const res = await h.request("/v1/deployment", { token });
    expect(res.status).toBe(404); // authenticated and allowed; the tenant simply has no deployment yet
  });

  it("gives every issued token its own jti", async () => {
    const t = await h.newTenant();
    const client = await t.addApiClient(["predict"]);
    const [a, b] = [await t.exchange(client), await t.exchange(client)];
    const [pa, pb] = [(await verifyAgainstJwks(a)).payload, (await verifyAgainstJwks(b)).payload];
    expect(pa.jti).not.toBe(pb.jti);
    expect(decodeProtectedHeader(a).kid).toBe(decodeProtectedHeader(b).kid);
  });

  it("audits issuance as token.issue, gathered per client and written once per window, with every jti", async () => {
    const t = await h.newTenant();
    const client = await t.addApiClient(["predict"]);
    const tokens = [await t.exchange(client), await t.exchange(client), await t.exchange(client)];
    await h.deps.tokenIssueAudit.flush();
    const entries = (await expectValidAuditChain(h, t.tenantId)).filter((r) => r.action === "token.issue");
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({ actorType: "client", actorId: client.clientId });
    const details = JSON.parse(entries[0]!.details) as { count: number; scopes: string[]; jtis: string[] };
    expect(details.count).toBe(3);
    expect(details.scopes).toEqual(["predict"]);
    expect(details.jtis).toEqual(tokens.map((x) => decodeJwt(x).jti));
    // Neither the tokens nor the secret are written.
    for (const secret of [...tokens, client.clientSecret]) expect(entries[0]!.details).not.toContain(secret);
    // The next window starts a new entry.
    await t.exchange(client);
    await h.deps.tokenIssueAudit.flush();
    const again = (await expectValidAuditChain(h, t.tenantId)).filter((r) => r.action === "token.issue");
    expect(again.map((r) => (JSON.parse(r.details) as { count: number }).count)).toEqual([3, 1]);
  });
});

function token(body: Record<string, string> | string, headers: Record<string, string> = FORM) {
  return h.request("/v1/oauth/token", {
    method: "POST",
    headers,
    body: typeof body === "string" ? body : new URLSearchParams(body).toString(),
  });
}

describe("POST /v1/oauth/token: error", () => {
  it("refuses a scope the client was not granted with 400 invalid_scope naming it", async () => {
    const t = await h.newTenant();
    const c = await t.addApiClient(["predict"]);
    const res = await token(
      { grant_type: "client_credentials", scope: "predict models:publish" },
      { ...FORM, authorization: basicAuth(c.clientId, c.clientSecret) },
    );
    const body = await expectError(res, 400, "invalid_scope");
    expect(body.error.message).toContain("models:publish");
    expect(body.error.message).not.toContain("predict ");
  });

  it("refuses a scope that does not exist with 400 invalid_scope", async () => {
    const t = await h.newTenant();
    const c = await t.addApiClient(["predict"]);
    const res = await token(
      { grant_type: "client_credentials", scope: "admin" },
      { ...FORM, authorization: basicAuth(c.clientId, c.clientSecret) },
    );
    await expectError(res, 400, "invalid_scope");
  });

  it("refuses a wrong secret with 401 invalid_client and a Basic challenge", async () => {
    const t = await h.newTenant();
    const c = await t.addApiClient(["predict"]);
    const res = await token(
      { grant_type: "client_credentials" },
      { ...FORM, authorization: basicAuth(c.clientId, `${c.clientSecret}x`) },
    );
    await expectError(res, 401, "invalid_client");
    expect(res.headers.get("www-authenticate")).toBe('Basic realm="churn"');
  });

  it("refuses an unknown client with the same 401 invalid_client and message", async () => {
    const t = await h.newTenant();
    const c = await t.addApiClient(["predict"]);
    const unknown = await expectError(
      await token({ grant_type: "client_credentials", client_id: "cli_doesnotexist", client_secret: "x" }),
      401,
      "invalid_client",
    );
    const wrong = await expectError(
      await token({ grant_type: "client_credentials", client_id: c.clientId, client_secret: "x" }),
      401,
      "invalid_client",
    );
    // The answer must not reveal which client ids exist.
    expect(unknown.error.message).toBe(wrong.error.message);
  });

  it("refuses a request without credentials with 401 invalid_client", async () => {
    await expectError(await token({ grant_type: "client_credentials" }), 401, "invalid_client");
    await expectError(
      await token({ grant_type: "client_credentials", client_id: "cli_x" }),
      401,
      "invalid_client",
    );
  });

  it("refuses a Basic header without a colon or with broken percent-encoding with 401, not 500", async () => {
    for (const raw of ["no-colon-here", "%zz:secret", "cli_x:%E0%A4%A"]) {
      const res = await token(
        { grant_type: "client_credentials" },
        { ...FORM, authorization: `Basic ${Buffer.from(raw).toString("base64")}` },
      );
      await expectError(res, 401, "invalid_client");
    }
    expect(h.logs.filter((l) => l["level"] === "error")).toEqual([]);
  });

  it("refuses grant types other than client_credentials with 400 unsupported_grant_type", async () => {
    const t = await h.newTenant();
    const c = await t.addApiClient(["predict"]);
    for (const grant of ["password", "authorization_code", "refresh_token", ""]) {
      const res = await token(
        { grant_type: grant, client_id: c.clientId, client_secret: c.clientSecret },
        FORM,
      );
      await expectError(res, 400, "unsupported_grant_type");
    }
  });

  it("refuses a request without grant_type with 400 invalid_request naming the field", async () => {
    const body = await expectError(
      await token({ client_id: "cli_x", client_secret: "x" }),
      400,
      "invalid_request",
    );
    expect(body.error.issues?.map((i) => i.path)).toContain("grant_type");
  });

  it("refuses oversized fields with 400 invalid_request", async () => {
    const body = await expectError(
      await token({ grant_type: "client_credentials", client_id: "c".repeat(129), client_secret: "x" }),
      400,
      "invalid_request",
    );
    expect(body.error.issues?.map((i) => i.path)).toContain("client_id");
  });

  it("answers 415 for bodies that are not application/x-www-form-urlencoded (RFC 6749 §4.4.2)", async () => {
    const t = await h.newTenant();
    const c = await t.addApiClient(["predict"]);
    const fields = { grant_type: "client_credentials", client_id: c.clientId, client_secret: c.clientSecret };
    const json = await expectError(
      await token(JSON.stringify(fields), { "content-type": "application/json" }),
      415,
      "UNSUPPORTED_MEDIA_TYPE",
    );
    expect(json.error.message).toContain("application/x-www-form-urlencoded");
    await expectError(
      await token(new URLSearchParams(fields).toString(), { "content-type": "text/plain" }),
      415,
      "UNSUPPORTED_MEDIA_TYPE",
    );
    const multipart = new FormData();
    for (const [k, v] of Object.entries(fields)) multipart.set(k, v);
    await expectError(
      await h.request("/v1/oauth/token", { method: "POST", body: multipart }),
      415,
      "UNSUPPORTED_MEDIA_TYPE",
    );
    await expectError(
      await h.request("/v1/oauth/token", { method: "POST", body: new URLSearchParams(fields).toString() }),
      415,
      "UNSUPPORTED_MEDIA_TYPE",
    );
  });

  it("answers 404 for GET (only POST is routed)", async () => {
    await expectError(await h.request("/v1/oauth/token"), 404, "NOT_FOUND");
  });
});

describe("POST /v1/oauth/token: security", () => {
  it("refuses a revoked client, and the control plane refuses the tokens it already holds", async () => {
    const t = await h.newTenant();
    const client = await t.addApiClient(["models:read"]);
    const issued = await t.exchange(client);
    expect((await h.request("/v1/deployment", { token: issued })).status).toBe(404); // accepted: no deployment yet

    await h.deps.db
      .update(apiClients)
      .set({ revokedAt: Date.now() })
      .where(eq(apiClients.id, client.clientId));

    const res = await h.request("/v1/oauth/token", {
      method: "POST",
      headers: { ...FORM, authorization: basicAuth(client.clientId, client.clientSecret) },
      body: "grant_type=client_credentials",
    });
    const refused = await expectError(res, 401, "invalid_client");
    // Same answer as a wrong secret: revocation is not disclosed to the caller.
    expect(refused.error.message).toBe("Unknown client or wrong secret");

    const stale = await h.request("/v1/deployment", { token: issued });
    await expectError(stale, 401, "UNAUTHORIZED");
  });

  it("never writes the client secret or the access token to logs, responses or the database", async () => {
    const t = await h.newTenant();
    const client = await t.addApiClient(["predict"]);
    const res = await h.request("/v1/oauth/token", {
      method: "POST",
      headers: FORM,
      body: new URLSearchParams({
        grant_type: "client_credentials",
        client_id: client.clientId,
        client_secret: client.clientSecret,
      }).toString(),
    });
    const text = await res.text();
    expect(res.status).toBe(200);
    expect(text).not.toContain(client.clientSecret);
    const accessToken = (JSON.parse(text) as { access_token: string }).access_token;
    expect(decodeJwt(accessToken)).not.toHaveProperty("client_secret");

    const logged = JSON.stringify(h.logs);
    expect(logged).not.toContain(client.clientSecret);
    expect(logged).not.toContain(accessToken);

    const [row] = await h.deps.db.select().from(apiClients).where(eq(apiClients.id, client.clientId));
    expect(row!.secretHash).toMatch(/^scrypt\$/);
    expect(row!.secretHash).not.toContain(client.clientSecret);
    const dump = await h.cp.database.client.execute("select * from api_clients");
    expect(JSON.stringify(dump.rows)).not.toContain(client.clientSecret);
  });

  it("binds the token to the client's own tenant; extra form fields cannot change it", async () => {
    const a = await h.newTenant("A");
    const b = await h.newTenant("B");
    const client = await a.addApiClient(["predict"]);
    const res = await h.request("/v1/oauth/token", {
      method: "POST",
      headers: { ...FORM, authorization: basicAuth(client.clientId, client.clientSecret) },
      body: new URLSearchParams({
        grant_type: "client_credentials",
        tid: b.tenantId,
        tenant_id: b.tenantId,
        sub: "cli_other",
      }).toString(),
    });
    expect(res.status).toBe(200);
    const claims = decodeJwt(((await res.json()) as { access_token: string }).access_token);
    expect(claims["tid"]).toBe(a.tenantId);
    expect(claims.sub).toBe(client.clientId);
  });

  it("authenticates the Basic-header client when form fields name another", async () => {
    const t = await h.newTenant();
    const basic = await t.addApiClient(["predict"]);
    const other = await t.addApiClient(["models:read"]);
    const res = await h.request("/v1/oauth/token", {
      method: "POST",
      headers: { ...FORM, authorization: basicAuth(basic.clientId, basic.clientSecret) },
      body: new URLSearchParams({
        grant_type: "client_credentials",
        client_id: other.clientId,
        client_secret: "wrong",
      }).toString(),
    });
    expect(res.status).toBe(200);
    expect(decodeJwt(((await res.json()) as { access_token: string }).access_token).sub).toBe(basic.clientId);
  });

  it("cannot widen scopes by repeating or padding the scope parameter", async () => {
    const t = await h.newTenant();
    const c = await t.addApiClient(["predict"]);
    const auth = { ...FORM, authorization: basicAuth(c.clientId, c.clientSecret) };
    const padded = await h.request("/v1/oauth/token", {
      method: "POST",
      headers: auth,
      body: "grant_type=client_credentials&scope=predict%20%20models:publish",
    });
    await expectError(padded, 400, "invalid_scope");
    const repeated = await h.request("/v1/oauth/token", {
      method: "POST",
      headers: auth,
      body: "grant_type=client_credentials&scope=predict&scope=models:publish",
    });
    if (repeated.status === 200) {
      const scope = String(
        decodeJwt(((await repeated.json()) as { access_token: string }).access_token).scope,
      );
      expect(scope.split(" ")).not.toContain("models:publish");
    } else {
      expect(repeated.status).toBe(400);
    }
  });

  it("keeps tokens signed before a key rotation valid, and signs new ones with the new key", async () => {
    const t = await h.newTenant();
    const client = await t.addApiClient(["models:read"]);
    const before = await t.exchange(client);
    const oldKid = decodeProtectedHeader(before).kid;

    const newKid = await h.deps.keys.rotate();
    expect(newKid).not.toBe(oldKid);
    const after = await t.exchange(client);
    expect(decodeProtectedHeader(after).kid).toBe(newKid);

    const jwks = (await (await h.request("/.well-known/jwks.json")).json()) as JSONWebKeySet;
    expect(jwks.keys.map((k) => k.kid)).toEqual(expect.arrayContaining([oldKid, newKid]));
    const edgeJwks = JSON.parse((await h.kv.get(kvKeys.jwks(), "text"))!) as JSONWebKeySet;
    expect(edgeJwks).toEqual(jwks);
    const verify = createLocalJWKSet(jwks);
    for (const token of [before, after]) {
      await jwtVerify(token, verify, { issuer: h.config.TOKEN_ISSUER, audience: h.config.TOKEN_AUDIENCE });
      expect((await h.request("/v1/deployment", { token })).status).toBe(404);
    }
  });
});

const PRIVATE_MEMBERS = ["d", "p", "q", "dp", "dq", "qi", "k", "oth"];

describe("GET /.well-known/jwks.json", () => {
  it("happy: publishes the active Ed25519 verification key, cacheable and without authentication", async () => {
    const res = await h.request("/.well-known/jwks.json");
    expect(res.status).toBe(200);
    expect(res.headers.get("cache-control")).toBe("public, max-age=300");
    const jwks = jwksSchema.parse(await res.json());
    const active = jwks.keys.find((k) => k.kid === h.deps.keys.active().kid);
    expect(active).toMatchObject({ kty: "OKP", crv: "Ed25519", alg: "EdDSA", use: "sig" });
    expect(active?.x).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it("happy: is the same key set the edge reads from KV, and verifies issued tokens", async () => {
    const served = (await (await h.request("/.well-known/jwks.json")).json()) as JSONWebKeySet;
    const edge = JSON.parse((await h.kv.get(kvKeys.jwks(), "text"))!) as JSONWebKeySet;
    expect(edge).toEqual(served);
    const t = await h.newTenant();
    const token = await t.clientToken(["predict"]);
    const { protectedHeader } = await jwtVerify(token, createLocalJWKSet(edge), { algorithms: ["EdDSA"] });
    expect(protectedHeader.kid).toBe(h.deps.keys.active().kid);
  });

  it("security: never publishes private key material, neither served nor at the edge", async () => {
    const served = (await (await h.request("/.well-known/jwks.json")).json()) as JSONWebKeySet;
    const edge = JSON.parse((await h.kv.get(kvKeys.jwks(), "text"))!) as JSONWebKeySet;
    for (const key of [...served.keys, ...edge.keys]) {
      for (const member of PRIVATE_MEMBERS) expect(key, `JWK member ${member}`).not.toHaveProperty(member);
    }
  });

  it("error: other methods are not routed (404 envelope)", async () => {
    await expectError(await h.request("/.well-known/jwks.json", { method: "POST" }), 404, "NOT_FOUND");
    await expectError(await h.request("/.well-known/jwks"), 404, "NOT_FOUND");
  });
});

// ---------------------------------------------------------------------------------------------------------
// POST /v1/admin/keys/rotate: the operator's signing-key rotation

const rotate = (
  authorization?: string,
  target: { request(path: string, init: RequestInit): Response | Promise<Response> } = h,
) =>
  Promise.resolve(
    target.request("/v1/admin/keys/rotate", {
      method: "POST",
      headers: {
        ...(authorization !== undefined ? { authorization } : {}),
        "user-agent": "churn-cli/1.0 (keys rotate)",
      },
    }),
  );

const edgeJwks = async () => JSON.parse((await h.kv.get(kvKeys.jwks(), "text"))!) as JSONWebKeySet;

describe("POST /v1/admin/keys/rotate: happy", () => {
  it("rotates: old tokens still verify, new ones carry the new kid, and the edge's JWKS has both", async () => {
    const t = await h.newTenant();
    const client = await t.addApiClient(["models:read"]);
    const before = await t.exchange(client);
    const oldKid = decodeProtectedHeader(before).kid!;

    const res = await rotate(`Bearer ${OPERATOR_TOKEN}`);
    expect(res.status).toBe(200);
    expect(res.headers.get("cache-control")).toBe("no-store");
    const body = (await res.json()) as { kid: string; publishedKids: string[] };
    expect(body.kid).not.toBe(oldKid);
    expect(body.publishedKids).toEqual(expect.arrayContaining([oldKid, body.kid]));

    const after = await t.exchange(client);
    expect(decodeProtectedHeader(after).kid).toBe(body.kid);
    const jwks = await edgeJwks();
    expect(jwks.keys.map((k) => k.kid)).toEqual(expect.arrayContaining([oldKid, body.kid]));
    for (const token of [before, after]) {
      await jwtVerify(token, createLocalJWKSet(jwks), {
        issuer: h.config.TOKEN_ISSUER,
        audience: h.config.TOKEN_AUDIENCE,
      });
      expect((await h.request("/v1/deployment", { token })).status).toBe(404);
    }

    const chain = await expectValidAuditChain(h, PLATFORM_AUDIT_CHAIN);
    const [created, retired] = chain.slice(-2);
    expect(created).toMatchObject({ action: "key.create", actorType: "system", actorId: "operator" });
    expect(created!.requestId).toBe(res.headers.get("x-request-id"));
    expect(created!.userAgent).toBe("churn-cli/1.0 (keys rotate)");
    expect(retired).toMatchObject({ action: "key.retire", actorId: "operator" });
    expect(JSON.parse(retired!.targets)).toEqual([{ type: "key", id: oldKid }]);
  });

  it("drops a retired key from the JWKS once every token it signed has expired, at the next publish", async () => {
    const first = await rotate(`Bearer ${OPERATOR_TOKEN}`);
    const { kid: retiring } = (await first.json()) as { kid: string };
    const second = (await (await rotate(`Bearer ${OPERATOR_TOKEN}`)).json()) as { kid: string };
    expect((await edgeJwks()).keys.map((k) => k.kid)).toContain(retiring);
    // Retired longer ago than the longest token lifetime (24 h) plus leeway.
    await h.deps.db
      .update(signingKeys)
      .set({ retiredAt: Date.now() - 86_400_000 - 31_000 })
      .where(eq(signingKeys.kid, retiring));
    await h.deps.keys.refreshJwks();
    const kids = (await edgeJwks()).keys.map((k) => k.kid);
    expect(kids).not.toContain(retiring);
    expect(kids).toContain(second.kid);
    const served = (await (await h.request("/.well-known/jwks.json")).json()) as JSONWebKeySet;
    expect(served.keys.map((k) => k.kid)).toEqual(kids);
  });

  it("is listed in the OpenAPI document under its own security scheme when configured", async () => {
    const doc = (await (await h.request("/v1/openapi.json")).json()) as {
      paths: Record<string, Record<string, { security?: unknown[] }>>;
      components: { securitySchemes: Record<string, unknown> };
    };
    expect(doc.paths["/v1/admin/keys/rotate"]!["post"]!.security).toEqual([{ operatorAuth: [] }]);
    expect(doc.components.securitySchemes["operatorAuth"]).toMatchObject({ type: "http", scheme: "bearer" });
  });
});

describe("POST /v1/admin/keys/rotate: error", () => {
  it("does not exist without OPERATOR_TOKEN: the same 404 as any unknown path, absent from OpenAPI", async () => {
    const res = await rotate(`Bearer ${OPERATOR_TOKEN}`, plain);
    const err = await expectError(res, 404, "NOT_FOUND");
    expect(err.error.message).toBe("No route for POST /v1/admin/keys/rotate");
    const doc = (await (await plain.request("/v1/openapi.json")).json()) as {
      paths: Record<string, unknown>;
    };
    expect(Object.keys(doc.paths)).not.toContain("/v1/admin/keys/rotate");
  });

  it("answers GET with 404 (only POST is routed)", async () => {
    await expectError(await h.request("/v1/admin/keys/rotate"), 404, "NOT_FOUND");
  });
});

describe("POST /v1/admin/keys/rotate: security", () => {
  it("refuses anything but the operator token with 401, tenant owners and all-scope clients included", async () => {
    const kid = h.deps.keys.active().kid;
    const t = await h.newTenant();
    const client = await t.clientToken(["predict", "models:read", "models:publish", "deployments:write"]);
    const cases: [string, string | undefined][] = [
      ["missing", undefined],
      ["empty", "Bearer "],
      ["wrong", `Bearer ${OPERATOR_TOKEN.slice(0, -1)}x`],
      ["prefix", `Bearer ${OPERATOR_TOKEN.slice(0, 20)}`],
      ["longer", `Bearer ${OPERATOR_TOKEN}x`],
      ["basic scheme", `Basic ${Buffer.from(`operator:${OPERATOR_TOKEN}`).toString("base64")}`],
      ["tenant owner PAT", `Bearer ${t.ownerToken}`],
      ["client token with every scope", `Bearer ${client}`],
    ];
    for (const [name, authorization] of cases) {
      const res = await rotate(authorization);
      const err = await expectError(res, 401, "UNAUTHORIZED");
      expect(err.error.message, name).toBe("This route needs the platform operator token");
      expect(res.headers.get("www-authenticate"), name).toMatch(/^Bearer/);
    }
    expect(h.deps.keys.active().kid).toBe(kid);
    expect(JSON.stringify(h.logs)).not.toContain(OPERATOR_TOKEN);
  });
});
