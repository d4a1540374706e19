import { eq } from "drizzle-orm";
import { type JWTPayload, SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { newId } from "#shared/ids.ts";
import { TOKEN_ALG } from "#shared/oauth.ts";
import { createPat } from "../../control-plane/src/modules/identity/pat.ts";
import { apiClients, personalAccessTokens } from "../../control-plane/src/platform/db/schema/index.ts";
import {
  type ControlPlaneHarness,
  expectError,
  startControlPlane,
  type TestTenant,
} from "../helpers/control-plane-harness.ts";

/**
 * How the control plane tells who is calling: the personal-access-token and client-token paths of
 * `authenticate()` and the 401/403 split of `requirePermission()`, each against its own tenant.
 */

let h: ControlPlaneHarness;
beforeAll(async () => {
  h = await startControlPlane();
});
afterAll(() => h?.close());

/** A client token signed by the control plane's active key, with any claim replaced. */
async function signedToken(claims: JWTPayload, options: { expiresAt?: number } = {}): Promise<string> {
  const active = h.deps.keys.active();
  return new SignJWT(claims)
    .setProtectedHeader({ alg: TOKEN_ALG, kid: active.kid, typ: "at+jwt" })
    .setIssuer(h.config.TOKEN_ISSUER)
    .setAudience(h.config.TOKEN_AUDIENCE)
    .setIssuedAt()
    .setJti(newId("token"))
    .setExpirationTime(options.expiresAt ?? Math.floor(Date.now() / 1000) + 300)
    .sign(active.privateKey);
}

/** The tenant's predict settings as the caller sees them: which tenant the principal belongs to. */
const readSettings = (token: string) => h.request("/v1/settings/predict", { token });

/** Gives the tenant a setting no other tenant has, so a read shows whose data the caller reached. */
async function markTenant(t: TestTenant): Promise<void> {
  const res = await h.request("/v1/settings/predict", {
    method: "PUT",
    token: t.ownerToken,
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ allowUnknownFields: true }),
  });
  expect(res.status).toBe(200);
}

describe("control-plane authentication", () => {
  it("refuses a missing header or anything but one bearer token, with a Bearer challenge", async () => {
    const t = await h.newTenant();
    const missing = await expectError(await h.request("/v1/users"), 401, "UNAUTHORIZED");
    expect(missing.error.message).toMatch(/Missing Authorization header/);
    for (const authorization of [
      "Basic abc",
      "Bearer ",
      `Bearer ${t.ownerToken} extra`,
      `x Bearer ${t.ownerToken}`,
    ]) {
      const res = await h.request("/v1/users", { headers: { authorization } });
      expect(res.headers.get("www-authenticate")).toBe('Bearer realm="churn"');
      const body = await expectError(res, 401, "UNAUTHORIZED");
      expect(body.error.message).toMatch(/must be 'Bearer <token>'/);
    }
    for (const authorization of [`bearer ${t.ownerToken}`, `Bearer   ${t.ownerToken}`]) {
      expect((await h.request("/v1/users", { headers: { authorization } })).status).toBe(200);
    }
  });

  it("resolves a personal access token to its user, in the user's tenant, with the user's role", async () => {
    const t = await h.newTenant();
    const other = await h.newTenant();
    const res = await h.request("/v1/users", { token: t.ownerToken });
    expect(res.status).toBe(200);
    const ids = ((await res.json()) as { users: { id: string }[] }).users.map((u) => u.id);
    expect(ids).toContain(t.ownerId);
    expect(ids).not.toContain(other.ownerId);
  });

  it("refuses personal access tokens that are made up, expired or revoked", async () => {
    const t = await h.newTenant();
    const expired = await createPat(h.deps.db, {
      tenantId: t.tenantId,
      userId: t.ownerId,
      name: "old",
      ttlDays: -1,
    });
    const revoked = await createPat(h.deps.db, {
      tenantId: t.tenantId,
      userId: t.ownerId,
      name: "gone",
      ttlDays: 30,
    });
    await h.deps.db
      .update(personalAccessTokens)
      .set({ revokedAt: Date.now() })
      .where(eq(personalAccessTokens.id, revoked.id));
    for (const token of ["churn_pat_made-up", expired.token, revoked.token]) {
      const body = await expectError(await readSettings(token), 401, "UNAUTHORIZED");
      expect(body.error.message).toMatch(/Personal access token is invalid, expired or revoked/);
    }
  });

  it("refuses a user whose role lacks the permission with 403 FORBIDDEN, naming it", async () => {
    const t = await h.newTenant();
    const analyst = await t.tokenFor("analyst");
    const body = await expectError(await h.request("/v1/users", { token: analyst }), 403, "FORBIDDEN");
    expect(body.error.message).toMatch(/needs the 'users:read' permission/);
  });

  it("resolves a client token to the client's tenant, with the scopes it was issued", async () => {
    const t = await h.newTenant();
    await markTenant(t);
    const other = await h.newTenant();
    const token = await t.clientToken(["models:read"]);
    const res = await readSettings(token);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ allowUnknownFields: true });
    const otherRes = await readSettings(await other.clientToken(["models:read"]));
    expect(await otherRes.json()).toEqual({ allowUnknownFields: false });
  });

  it("refuses a client without the permission's scope with 403 INSUFFICIENT_SCOPE", async () => {
    const t = await h.newTenant();
    const token = await t.clientToken(["retraining:run"]);
    const body = await expectError(await readSettings(token), 403, "INSUFFICIENT_SCOPE");
    expect(body.error.message).toMatch(/needs the 'deployments:read' permission/);
  });

  it("counts only the scopes the client still holds, also for a token it already used", async () => {
    const t = await h.newTenant();
    const client = await t.addApiClient(["models:read", "retraining:run"]);
    const token = await t.exchange(client);
    expect((await readSettings(token)).status).toBe(200);
    await h.deps.db
      .update(apiClients)
      .set({ scopes: "retraining:run" })
      .where(eq(apiClients.id, client.clientId));
    await expectError(await readSettings(token), 403, "INSUFFICIENT_SCOPE");
  });

  it("refuses every token of a revoked client at once, also one it already used", async () => {
    const t = await h.newTenant();
    const client = await t.addApiClient(["models:read"]);
    const token = await t.exchange(client);
    expect((await readSettings(token)).status).toBe(200);
    await h.deps.db
      .update(apiClients)
      .set({ revokedAt: Date.now() })
      .where(eq(apiClients.id, client.clientId));
    const body = await expectError(await readSettings(token), 401, "UNAUTHORIZED");
    expect(body.error.message).toMatch(/API client is revoked/);
  });

  it("refuses a client token whose tenant does not own the client", async () => {
    const t = await h.newTenant();
    const other = await h.newTenant();
    const client = await t.addApiClient(["models:read"]);
    const token = await signedToken({ sub: client.clientId, tid: other.tenantId, scope: "models:read" });
    await expectError(await readSettings(token), 401, "UNAUTHORIZED");
  });

  it("refuses a signed token without the required claims, and a forged or foreign one", async () => {
    const t = await h.newTenant();
    const client = await t.addApiClient(["models:read"]);
    const noTenant = await expectError(
      await readSettings(await signedToken({ sub: client.clientId, scope: "models:read" })),
      401,
      "UNAUTHORIZED",
    );
    expect(noTenant.error.message).toMatch(/missing required claims/);
    const garbage = await expectError(await readSettings("not.a.jwt"), 401, "UNAUTHORIZED");
    expect(garbage.error.message).toMatch(/Access token is invalid or expired/);
  });

  it("allows 30 seconds of clock skew past expiry, also for a token it remembers, and no more", async () => {
    const t = await h.newTenant();
    const client = await t.addApiClient(["models:read"]);
    const claims = { sub: client.clientId, tid: t.tenantId, scope: "models:read" };
    const now = Math.floor(Date.now() / 1000);
    expect((await readSettings(await signedToken(claims, { expiresAt: now - 20 }))).status).toBe(200);
    await expectError(
      await readSettings(await signedToken(claims, { expiresAt: now - 40 })),
      401,
      "UNAUTHORIZED",
    );

    // Verified tokens are remembered until exp + 30 s; past that the signature check runs again and fails.
    const remembered = await signedToken(claims, { expiresAt: now - 28 });
    expect((await readSettings(remembered)).status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    await expectError(await readSettings(remembered), 401, "UNAUTHORIZED");
  });
});
