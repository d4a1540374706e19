import { eq } from "drizzle-orm";
import { createLocalJWKSet, decodeJwt, decodeProtectedHeader, type JSONWebKeySet, jwtVerify } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { apiClients } from "../../control-plane/src/db/schema/index.ts";
import { kvKeys } from "../../shared/src/kv.ts";
import {
  basicAuth,
  type ControlPlaneHarness,
  expectError,
  startControlPlane,
} from "../helpers/control-plane-harness.ts";

let h: ControlPlaneHarness;
beforeAll(async () => {
  h = await startControlPlane();
});
afterAll(() => h?.close());

const FORM = { "content-type": "application/x-www-form-urlencoded" };

describe("POST /v1/oauth/token security", () => {
  it("refuses a revoked client, and the control plane refuses the tokens it already holds", async () => {
    const t = await h.newTenant();
    const client = await t.addApiClient(["models:read"]);
    const issued = await t.exchange(client);
    expect((await h.request("/v1/deployment", { token: issued })).status).toBe(404); // accepted: no deployment yet

    await h.deps.db.update(apiClients).set({ revokedAt: Date.now() }).where(eq(apiClients.id, client.clientId));

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
      const scope = String(decodeJwt(((await repeated.json()) as { access_token: string }).access_token).scope);
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
