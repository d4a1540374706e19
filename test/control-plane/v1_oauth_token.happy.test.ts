import { createLocalJWKSet, decodeProtectedHeader, type JSONWebKeySet, jwtVerify } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { idPattern } from "../../shared/src/ids.ts";
import { tokenResponseSchema } from "../../shared/src/oauth.ts";
import { basicAuth, type ControlPlaneHarness, startControlPlane } from "../helpers/control-plane-harness.ts";

let h: ControlPlaneHarness;
beforeAll(async () => {
  h = await startControlPlane();
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

describe("POST /v1/oauth/token (client credentials)", () => {
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
});
