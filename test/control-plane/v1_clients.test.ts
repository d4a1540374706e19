import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { apiClientListSchema, apiClientSchema, apiClientWithSecretSchema } from "#shared/identity.ts";
import { idPattern } from "#shared/ids.ts";
import { kvKeys, revokedClientsSchema, tenantLimitsSchema } from "#shared/kv.ts";
import { authenticateClient } from "../../control-plane/src/modules/identity/clients.ts";
import { VerifiedSecretCache } from "../../control-plane/src/modules/identity/verified-secret-cache.ts";
import { apiClients, auditLog } from "../../control-plane/src/platform/db/schema/index.ts";
import {
  basicAuth,
  type ControlPlaneHarness,
  expectAuthRequired,
  expectError,
  startControlPlane,
  type TestTenant,
} from "../helpers/control-plane-harness.ts";

let h: ControlPlaneHarness;
beforeAll(async () => {
  h = await startControlPlane();
});
afterAll(() => h?.close());

const JSON_TYPE = { "content-type": "application/json" };

function post(path: string, token: string, body?: unknown) {
  return h.request(path, {
    method: "POST",
    token,
    ...(body !== undefined
      ? { headers: JSON_TYPE, body: typeof body === "string" ? body : JSON.stringify(body) }
      : {}),
  });
}

const patch = (path: string, token: string, body: unknown) =>
  h.request(path, { method: "PATCH", token, headers: JSON_TYPE, body: JSON.stringify(body) });

async function createClient(t: TestTenant, body: Record<string, unknown> = {}) {
  const res = await post("/v1/clients", t.ownerToken, { name: "ci", scopes: ["models:read"], ...body });
  expect(res.status, await res.clone().text()).toBe(201);
  return apiClientWithSecretSchema.parse(await res.json());
}

function tokenRequest(clientId: string, secret: string) {
  return h.request("/v1/oauth/token", {
    method: "POST",
    headers: {
      "content-type": "application/x-www-form-urlencoded",
      authorization: basicAuth(clientId, secret),
    },
    body: "grant_type=client_credentials",
  });
}

async function kvJson(key: string): Promise<unknown> {
  const text = await h.kv.get(key, "text");
  return text === null ? null : JSON.parse(text);
}

const revokedList = async () =>
  revokedClientsSchema.parse((await kvJson(kvKeys.revokedClients())) ?? { clients: {} });
const limitsOf = async (tenantId: string) => tenantLimitsSchema.parse(await kvJson(kvKeys.limits(tenantId)));

describe("GET /v1/clients", () => {
  it("happy: lists the tenant's clients without secrets, revoked ones included", async () => {
    const t = await h.newTenant();
    const a = await createClient(t, { name: "a" });
    const b = await createClient(t, { name: "b", rateLimit: { ratePerSecond: 5, burst: 10 } });
    await post(`/v1/clients/${a.client.id}/revoke`, t.ownerToken);
    const res = await h.request("/v1/clients", { token: await t.tokenFor("auditor") });
    const text = await res.text();
    expect(res.status).toBe(200);
    const { clients } = apiClientListSchema.parse(JSON.parse(text));
    expect(clients.map((c) => c.id)).toEqual([a.client.id, b.client.id]);
    expect(clients[0]!.revokedAt).not.toBeNull();
    expect(clients[1]!.rateLimit).toEqual({ ratePerSecond: 5, burst: 10 });
    for (const secret of [a.clientSecret, b.clientSecret, "scrypt$"]) expect(text).not.toContain(secret);
  });

  it("error: analysts and ml-engineers may not list clients (403)", async () => {
    const t = await h.newTenant();
    for (const role of ["analyst", "ml-engineer"] as const) {
      await expectError(await h.request("/v1/clients", { token: await t.tokenFor(role) }), 403, "FORBIDDEN");
    }
  });

  it("security: requires a valid token; shows only the caller's tenant", async () => {
    await expectAuthRequired(h, "GET", "/v1/clients", {}, { control: "owner" });
    const a = await h.newTenant("A");
    const b = await h.newTenant("B");
    const aClient = await createClient(a);
    const text = await (await h.request("/v1/clients", { token: b.ownerToken })).text();
    expect(text).not.toContain(aClient.client.id);
  });
});

describe("POST /v1/clients", () => {
  it("happy: creates a client whose secret (shown once) gets tokens; the rate limit reaches the edge", async () => {
    const t = await h.newTenant();
    const res = await post("/v1/clients", await t.tokenFor("admin"), {
      name: "scoring",
      scopes: ["predict", "predict", "feedback:write"],
      rateLimit: { ratePerSecond: 20, burst: 40 },
    });
    expect(res.status).toBe(201);
    expect(res.headers.get("cache-control")).toBe("no-store");
    const created = apiClientWithSecretSchema.parse(await res.json());
    expect(created.client.id).toMatch(idPattern("client"));
    expect(created.client).toMatchObject({
      name: "scoring",
      scopes: ["predict", "feedback:write"],
      revokedAt: null,
    });
    expect(created.clientSecret).toMatch(/^churn_cs_/);
    expect((await tokenRequest(created.client.id, created.clientSecret)).status).toBe(200);

    expect(await limitsOf(t.tenantId)).toEqual({
      tenant: { ratePerSecond: 1000, burst: 2000 },
      clients: { [created.client.id]: { ratePerSecond: 20, burst: 40 } },
    });
    const [row] = await h.deps.db.select().from(apiClients).where(eq(apiClients.id, created.client.id));
    expect(row!.secretHash).toMatch(/^scrypt\$/);
    expect(JSON.stringify(h.logs)).not.toContain(created.clientSecret);
    const audit = await h.deps.db.select().from(auditLog).where(eq(auditLog.tenantId, t.tenantId));
    expect(audit.at(-1)!.action).toBe("client.create");
    expect(JSON.stringify(audit)).not.toContain(created.clientSecret);
  });

  it("error: refuses unknown scopes, no scopes, a bad rate limit or a missing name with 400 naming the field", async () => {
    const t = await h.newTenant();
    for (const [body, field] of [
      [{ name: "x", scopes: ["admin"] }, "scopes.0"],
      [{ name: "x", scopes: [] }, "scopes"],
      [{ scopes: ["predict"] }, "name"],
      [
        { name: "x", scopes: ["predict"], rateLimit: { ratePerSecond: 0, burst: 1 } },
        "rateLimit.ratePerSecond",
      ],
      [{ name: "x", scopes: ["predict"], rateLimit: { ratePerSecond: 1 } }, "rateLimit.burst"],
    ] as const) {
      const err = await expectError(await post("/v1/clients", t.ownerToken, body), 400, "INVALID_REQUEST");
      expect(
        err.error.issues?.map((i) => i.path),
        JSON.stringify(body),
      ).toContain(field);
    }
    expect(await h.kv.get(kvKeys.limits(t.tenantId), "text")).toBeNull();
    const huge = { name: "x".repeat(70_000), scopes: ["predict"] };
    await expectError(await post("/v1/clients", t.ownerToken, huge), 413, "PAYLOAD_TOO_LARGE");
  });

  it("security: requires a valid token; clients cannot mint clients, nor can non-admins", async () => {
    await expectAuthRequired(
      h,
      "POST",
      "/v1/clients",
      { headers: JSON_TYPE, body: JSON.stringify({ name: "probe", scopes: ["predict"] }) },
      { control: "owner" },
    );
    const t = await h.newTenant();
    const machine = await t.clientToken(["models:read", "models:publish", "deployments:write"]);
    const body = { name: "x", scopes: ["predict"] };
    await expectError(await post("/v1/clients", machine, body), 403, "INSUFFICIENT_SCOPE");
    await expectError(await post("/v1/clients", await t.tokenFor("ml-engineer"), body), 403, "FORBIDDEN");
  });
});

describe("PATCH /v1/clients/{id}", () => {
  it("happy: renames, narrows scopes (at once at the control plane) and sets or clears the rate limit", async () => {
    const t = await h.newTenant();
    const c = await createClient(t, { scopes: ["models:read", "deployments:write"] });
    const token = await t.exchange({ clientId: c.client.id, clientSecret: c.clientSecret });
    expect(
      (await h.request("/v1/deployment", { method: "PUT", token, headers: JSON_TYPE, body: "{}" })).status,
    ).toBe(400);

    const res = await patch(`/v1/clients/${c.client.id}`, t.ownerToken, {
      name: "reader",
      scopes: ["models:read"],
      rateLimit: { ratePerSecond: 3, burst: 6 },
    });
    expect(res.status).toBe(200);
    expect(apiClientSchema.parse(await res.json())).toMatchObject({
      name: "reader",
      scopes: ["models:read"],
      rateLimit: { ratePerSecond: 3, burst: 6 },
    });
    // The token still says deployments:write, but the client no longer holds it.
    const put = await h.request("/v1/deployment", { method: "PUT", token, headers: JSON_TYPE, body: "{}" });
    await expectError(put, 403, "INSUFFICIENT_SCOPE");
    expect((await limitsOf(t.tenantId)).clients).toEqual({ [c.client.id]: { ratePerSecond: 3, burst: 6 } });

    const cleared = await patch(`/v1/clients/${c.client.id}`, t.ownerToken, { rateLimit: null });
    expect(apiClientSchema.parse(await cleared.json()).rateLimit).toBeNull();
    expect((await limitsOf(t.tenantId)).clients).toEqual({});
    const updates = (await h.deps.db.select().from(auditLog).where(eq(auditLog.tenantId, t.tenantId))).filter(
      (r) => r.action === "client.update",
    );
    expect(JSON.parse(updates[0]!.details)).toMatchObject({
      from: { name: "ci", scopes: ["models:read", "deployments:write"], rateLimit: null },
      to: { name: "reader", scopes: ["models:read"] },
    });
  });

  it("error: an empty patch or bad field is 400; an unknown id 404; a revoked client 409", async () => {
    const t = await h.newTenant();
    const c = await createClient(t);
    const empty = await expectError(
      await patch(`/v1/clients/${c.client.id}`, t.ownerToken, {}),
      400,
      "INVALID_REQUEST",
    );
    expect(empty.error.message).toContain("at least one");
    const bad = await expectError(
      await patch(`/v1/clients/${c.client.id}`, t.ownerToken, { scopes: ["root"] }),
      400,
      "INVALID_REQUEST",
    );
    expect(bad.error.issues?.map((i) => i.path)).toContain("scopes.0");
    await expectError(
      await patch("/v1/clients/cli_doesnotexist", t.ownerToken, { name: "x" }),
      404,
      "NOT_FOUND",
    );
    await post(`/v1/clients/${c.client.id}/revoke`, t.ownerToken);
    await expectError(
      await patch(`/v1/clients/${c.client.id}`, t.ownerToken, { name: "x" }),
      409,
      "CONFLICT",
    );
  });

  it("security: requires a valid token; another tenant's client is 404 and unchanged", async () => {
    const a = await h.newTenant("A");
    const c = await createClient(a);
    await expectAuthRequired(
      h,
      "PATCH",
      `/v1/clients/${c.client.id}`,
      { headers: JSON_TYPE, body: JSON.stringify({ name: "probe" }) },
      { control: "owner" },
    );
    const b = await h.newTenant("B");
    const err = await expectError(
      await patch(`/v1/clients/${c.client.id}`, b.ownerToken, { name: "x" }),
      404,
      "NOT_FOUND",
    );
    expect(err.error.message).toBe(`API client '${c.client.id}' not found`);
    const [row] = await h.deps.db.select().from(apiClients).where(eq(apiClients.id, c.client.id));
    expect(row!.name).toBe("ci");
  });
});

describe("POST /v1/clients/{id}/rotate", () => {
  it("happy: the new secret works at once and the old one keeps working through the overlap", async () => {
    const t = await h.newTenant();
    const c = await createClient(t);
    expect((await tokenRequest(c.client.id, c.clientSecret)).status).toBe(200); // now cached
    const res = await post(`/v1/clients/${c.client.id}/rotate`, t.ownerToken, { overlapSeconds: 3600 });
    expect(res.status).toBe(200);
    const rotated = apiClientWithSecretSchema.parse(await res.json());
    expect(rotated.clientSecret).not.toBe(c.clientSecret);
    const overlapEnds = Date.parse(rotated.client.previousSecretExpiresAt!);
    expect(overlapEnds - Date.now()).toBeGreaterThan(3590_000);
    expect((await tokenRequest(c.client.id, rotated.clientSecret)).status).toBe(200);
    expect((await tokenRequest(c.client.id, c.clientSecret)).status).toBe(200);

    // Once the overlap is over the old secret fails, even though the cache saw it succeed a moment ago.
    await h.deps.db
      .update(apiClients)
      .set({ previousSecretExpiresAt: Date.now() - 1 })
      .where(eq(apiClients.id, c.client.id));
    await expectError(await tokenRequest(c.client.id, c.clientSecret), 401, "invalid_client");
    expect((await tokenRequest(c.client.id, rotated.clientSecret)).status).toBe(200);
    const audit = await h.deps.db.select().from(auditLog).where(eq(auditLog.tenantId, t.tenantId));
    expect(audit.find((r) => r.action === "client.rotate")).toBeDefined();
    expect(JSON.stringify(audit)).not.toContain(rotated.clientSecret);
  });

  it("happy: defaults to a 24 h overlap without a body; overlapSeconds 0 ends the old secret at once", async () => {
    const t = await h.newTenant();
    const c = await createClient(t);
    const first = apiClientWithSecretSchema.parse(
      await (await post(`/v1/clients/${c.client.id}/rotate`, t.ownerToken)).json(),
    );
    const hours = (Date.parse(first.client.previousSecretExpiresAt!) - Date.now()) / 3600_000;
    expect(hours).toBeGreaterThan(23.9);
    expect(hours).toBeLessThanOrEqual(24);
    expect((await tokenRequest(c.client.id, first.clientSecret)).status).toBe(200);
    const second = apiClientWithSecretSchema.parse(
      await (await post(`/v1/clients/${c.client.id}/rotate`, t.ownerToken, { overlapSeconds: 0 })).json(),
    );
    expect(second.client.previousSecretExpiresAt).toBeNull();
    for (const stale of [c.clientSecret, first.clientSecret]) {
      await expectError(await tokenRequest(c.client.id, stale), 401, "invalid_client");
    }
    expect((await tokenRequest(c.client.id, second.clientSecret)).status).toBe(200);
  });

  it("error: refuses an overlap beyond 7 days (400), an unknown client (404) and a revoked one (409)", async () => {
    const t = await h.newTenant();
    const c = await createClient(t);
    const err = await expectError(
      await post(`/v1/clients/${c.client.id}/rotate`, t.ownerToken, { overlapSeconds: 7 * 86_400 + 1 }),
      400,
      "INVALID_REQUEST",
    );
    expect(err.error.issues?.map((i) => i.path)).toContain("overlapSeconds");
    await expectError(
      await post(`/v1/clients/${c.client.id}/rotate`, t.ownerToken, "{oops"),
      400,
      "INVALID_REQUEST",
    );
    await expectError(await post("/v1/clients/cli_doesnotexist/rotate", t.ownerToken), 404, "NOT_FOUND");
    await post(`/v1/clients/${c.client.id}/revoke`, t.ownerToken);
    await expectError(await post(`/v1/clients/${c.client.id}/rotate`, t.ownerToken), 409, "CONFLICT");
  });

  it("security: requires a valid token; another tenant's client is 404 and keeps its secret", async () => {
    const a = await h.newTenant("A");
    const c = await createClient(a);
    await expectAuthRequired(h, "POST", `/v1/clients/${c.client.id}/rotate`, {}, { control: "owner" });
    const b = await h.newTenant("B");
    await expectError(await post(`/v1/clients/${c.client.id}/rotate`, b.ownerToken), 404, "NOT_FOUND");
    expect((await tokenRequest(c.client.id, c.clientSecret)).status).toBe(200);
  });
});

describe("POST /v1/clients/{id}/revoke", () => {
  it("happy: the secret and issued tokens stop at once; the edge list gains it and keeps other tenants'", async () => {
    const a = await h.newTenant("A");
    const b = await h.newTenant("B");
    const ca = await createClient(a, { rateLimit: { ratePerSecond: 1, burst: 1 } });
    const cb = await createClient(b);
    const token = await a.exchange({ clientId: ca.client.id, clientSecret: ca.clientSecret });
    expect((await h.request("/v1/models/churn/versions", { token })).status).toBe(404);

    const res = await post(`/v1/clients/${cb.client.id}/revoke`, b.ownerToken);
    expect(res.status).toBe(200);
    const revokeA = await post(`/v1/clients/${ca.client.id}/revoke`, a.ownerToken);
    const revoked = apiClientSchema.parse(await revokeA.json());
    expect(revoked.revokedAt).not.toBeNull();

    await expectError(await tokenRequest(ca.client.id, ca.clientSecret), 401, "invalid_client");
    await expectError(await h.request("/v1/models/churn/versions", { token }), 401, "UNAUTHORIZED");
    const list = await revokedList();
    expect(list.clients[ca.client.id]).toBe(Math.floor(Date.parse(revoked.revokedAt!) / 1000));
    expect(list.clients[cb.client.id]).toBeTypeOf("number");
    expect((await limitsOf(a.tenantId)).clients).toEqual({});

    // Revoking again changes nothing and writes no second audit entry.
    expect((await post(`/v1/clients/${ca.client.id}/revoke`, a.ownerToken)).status).toBe(200);
    const entries = (await h.deps.db.select().from(auditLog).where(eq(auditLog.tenantId, a.tenantId))).filter(
      (r) => r.action === "client.revoke",
    );
    expect(entries).toHaveLength(1);
  });

  it("happy: rebuilds the list from the database, keeping young foreign entries and dropping expired ones", async () => {
    const t = await h.newTenant();
    const old = await createClient(t, { name: "old" });
    const fresh = await createClient(t, { name: "fresh" });
    const nowSeconds = Math.floor(Date.now() / 1000);
    // Published by another control-plane process a minute ago, and an entry older than any token.
    await h.kv.put(
      kvKeys.revokedClients(),
      JSON.stringify({ clients: { cli_elsewhere: nowSeconds - 60, cli_ancient: nowSeconds - 3 * 86_400 } }),
    );
    await h.deps.db
      .update(apiClients)
      .set({ revokedAt: Date.now() - 2 * 86_400_000 })
      .where(eq(apiClients.id, old.client.id));
    await post(`/v1/clients/${fresh.client.id}/revoke`, t.ownerToken);
    const { clients } = await revokedList();
    expect(clients["cli_elsewhere"]).toBe(nowSeconds - 60);
    expect(clients[fresh.client.id]).toBeTypeOf("number");
    expect(clients).not.toHaveProperty("cli_ancient");
    expect(clients).not.toHaveProperty(old.client.id);
  });

  it("error: an unknown client is 404", async () => {
    const t = await h.newTenant();
    await expectError(await post("/v1/clients/cli_doesnotexist/revoke", t.ownerToken), 404, "NOT_FOUND");
  });

  it("security: requires a valid token; another tenant's client is 404 and keeps working", async () => {
    const a = await h.newTenant("A");
    const c = await createClient(a);
    await expectAuthRequired(h, "POST", `/v1/clients/${c.client.id}/revoke`, {}, { control: "owner" });
    const b = await h.newTenant("B");
    for (const token of [b.ownerToken, await b.tokenFor("admin")]) {
      await expectError(await post(`/v1/clients/${c.client.id}/revoke`, token), 404, "NOT_FOUND");
    }
    expect((await tokenRequest(c.client.id, c.clientSecret)).status).toBe(200);
    expect((await revokedList()).clients).not.toHaveProperty(c.client.id);
  });
});

describe("token endpoint: verified-secret cache", () => {
  it("runs scrypt once per client and secret, however many tokens follow", async () => {
    const t = await h.newTenant();
    const c = await createClient(t);
    let scryptSuccesses = 0;
    const cache = new (class extends VerifiedSecretCache {
      override remember(clientId: string, storedHash: string, secret: string) {
        scryptSuccesses++;
        super.remember(clientId, storedHash, secret);
      }
    })();
    for (let i = 0; i < 5; i++)
      await authenticateClient(
        h.deps.db,
        c.client.id,
        c.clientSecret,
        cache,
        h.deps.caches.authThrottle,
        "test",
      );
    expect(scryptSuccesses).toBe(1);
    await expect(
      authenticateClient(
        h.deps.db,
        c.client.id,
        `${c.clientSecret}x`,
        cache,
        h.deps.caches.authThrottle,
        "test",
      ),
    ).rejects.toMatchObject({
      code: "invalid_client",
    });
    // A revoked client misses even with a warm cache entry.
    await post(`/v1/clients/${c.client.id}/revoke`, t.ownerToken);
    await expect(
      authenticateClient(h.deps.db, c.client.id, c.clientSecret, cache, h.deps.caches.authThrottle, "test"),
    ).rejects.toMatchObject({
      code: "invalid_client",
    });
  });

  it("expires entries after the TTL and evicts the least recently used beyond its bound", () => {
    let now = 0;
    const cache = new VerifiedSecretCache({ maxEntries: 2, ttlMs: 1000, now: () => now });
    cache.remember("a", "h1", "s1");
    cache.remember("b", "h2", "s2");
    expect(cache.matches("a", "h1", "s1")).toBe(true); // a is now the most recent
    cache.remember("c", "h3", "s3"); // evicts b
    expect(cache.size).toBe(2);
    expect(cache.matches("b", "h2", "s2")).toBe(false);
    expect(cache.matches("a", "h1", "wrong")).toBe(false);
    expect(cache.matches("a", "h2", "s1")).toBe(false); // another stored hash: a rotation
    now = 1000;
    expect(cache.matches("a", "h1", "s1")).toBe(false);
    expect(cache.matches("c", "h3", "s3")).toBe(false);
  });

  it("shares one process-wide cache with the token route", async () => {
    const t = await h.newTenant();
    const c = await createClient(t);
    expect((await tokenRequest(c.client.id, c.clientSecret)).status).toBe(200);
    const [row] = await h.deps.db.select().from(apiClients).where(eq(apiClients.id, c.client.id));
    expect(h.deps.caches.verifiedSecrets.matches(c.client.id, row!.secretHash, c.clientSecret)).toBe(true);
  });
});

// ---------------------------------------------------------------------------------------------------------
// The tenant-wide rate limit, published to the edge with the clients' own

const putLimits = (token: string, body: unknown) =>
  h.request("/v1/settings/limits", {
    method: "PUT",
    token,
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });

const publishedLimits = async (tenantId: string) =>
  tenantLimitsSchema.parse(JSON.parse((await h.kv.get(kvKeys.limits(tenantId), "text"))!));

describe("PUT /v1/settings/limits", () => {
  it("happy: sets the tenant's limit, publishes it with the clients' own limits, audited", async () => {
    const t = await h.newTenant();
    const client = await t.addApiClient(["predict"]);
    const patched = await h.request(`/v1/clients/${client.clientId}`, {
      method: "PATCH",
      token: t.ownerToken,
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ rateLimit: { ratePerSecond: 2.5, burst: 5 } }),
    });
    expect(patched.status).toBe(200);
    const res = await putLimits(await t.tokenFor("admin"), { ratePerSecond: 50, burst: 100 });
    expect(res.status).toBe(200);
    const expected = {
      tenant: { ratePerSecond: 50, burst: 100 },
      clients: { [client.clientId]: { ratePerSecond: 2.5, burst: 5 } },
    };
    expect(await res.json()).toEqual(expected);
    expect(await publishedLimits(t.tenantId)).toEqual(expected);
    const [entry] = (await h.deps.db.select().from(auditLog).where(eq(auditLog.tenantId, t.tenantId))).filter(
      (r) => r.action === "limits.update",
    );
    expect(JSON.parse(entry!.details)).toEqual({ from: null, to: { ratePerSecond: 50, burst: 100 } });
  });

  it("error: refuses a missing, zero, negative or fractional burst and a non-JSON body with 400/415", async () => {
    const t = await h.newTenant();
    for (const [body, field] of [
      [{ ratePerSecond: 10 }, "burst"],
      [{ ratePerSecond: 0, burst: 10 }, "ratePerSecond"],
      [{ ratePerSecond: 10, burst: -1 }, "burst"],
      [{ ratePerSecond: 10, burst: 1.5 }, "burst"],
      [{ ratePerSecond: 1e9, burst: 1 }, "ratePerSecond"],
    ] as const) {
      const err = await expectError(await putLimits(t.ownerToken, body), 400, "INVALID_REQUEST");
      expect(
        err.error.issues?.map((i) => i.path),
        JSON.stringify(body),
      ).toContain(field);
    }
    const text = await h.request("/v1/settings/limits", { method: "PUT", token: t.ownerToken, body: "x" });
    await expectError(text, 415, "UNSUPPORTED_MEDIA_TYPE");
    expect(await h.kv.get(kvKeys.limits(t.tenantId), "text")).toBeNull();
  });

  it("security: requires a valid token; only owners and admins; each tenant writes only its own key", async () => {
    await expectAuthRequired(
      h,
      "PUT",
      "/v1/settings/limits",
      {
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ ratePerSecond: 1, burst: 1 }),
      },
      { control: "owner" },
    );
    const a = await h.newTenant("A");
    const b = await h.newTenant("B");
    for (const role of ["ml-engineer", "analyst", "auditor"] as const) {
      await expectError(
        await putLimits(await a.tokenFor(role), { ratePerSecond: 1, burst: 1 }),
        403,
        "FORBIDDEN",
      );
    }
    const machine = await a.clientToken(["predict", "models:publish", "deployments:write"]);
    await expectError(await putLimits(machine, { ratePerSecond: 1, burst: 1 }), 403, "INSUFFICIENT_SCOPE");
    expect((await putLimits(b.ownerToken, { ratePerSecond: 7, burst: 7 })).status).toBe(200);
    expect(await h.kv.get(kvKeys.limits(a.tenantId), "text")).toBeNull();
    expect((await publishedLimits(b.tenantId)).tenant).toEqual({ ratePerSecond: 7, burst: 7 });
  });
});
