import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sha256Hex } from "#shared/hash.ts";
import {
  createUserResponseSchema,
  newPersonalAccessTokenSchema,
  personalAccessTokenListSchema,
  redeemInvitationResponseSchema,
  userListSchema,
  userSchema,
} from "#shared/identity.ts";
import { idPattern } from "#shared/ids.ts";
import { auditLog, personalAccessTokens, users } from "../../control-plane/src/platform/db/schema/index.ts";
import {
  type ControlPlaneHarness,
  expectAuthRequired,
  expectError,
  expectValidAuditChain,
  startControlPlane,
  type TestTenant,
} from "../helpers/control-plane-harness.ts";

let h: ControlPlaneHarness;
beforeAll(async () => {
  h = await startControlPlane();
});
afterAll(() => h?.close());

const json = (method: string, token: string, body: unknown, headers: Record<string, string> = {}) => ({
  method,
  token,
  headers: { "content-type": "application/json", ...headers },
  body: typeof body === "string" ? body : JSON.stringify(body),
});

function addUser(t: TestTenant, body: unknown, token = t.ownerToken) {
  return h.request("/v1/users", json("POST", token, body));
}

function redeem(code: string) {
  return h.request("/v1/invitations/redeem", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ code }),
  });
}

function setRole(token: string, userId: string, role: unknown) {
  return h.request(`/v1/users/${userId}`, json("PATCH", token, { role }));
}

describe("GET /v1/users", () => {
  it("happy: lists the tenant's users oldest first, to owners, admins and auditors", async () => {
    const t = await h.newTenant();
    const analyst = await t.addUser("analyst");
    for (const role of ["owner", "admin", "auditor"] as const) {
      const res = await h.request("/v1/users", { token: await t.tokenFor(role) });
      expect(res.status, role).toBe(200);
      const { users: listed } = userListSchema.parse(await res.json());
      expect(listed[0]).toMatchObject({ id: t.ownerId, role: "owner", oidc: null });
      expect(listed.map((u) => u.id)).toContain(analyst.userId);
    }
  });

  it("error: other methods on the collection are not routed (404 envelope)", async () => {
    const t = await h.newTenant();
    await expectError(
      await h.request("/v1/users", { method: "DELETE", token: t.ownerToken }),
      404,
      "NOT_FOUND",
    );
  });

  it("security: requires a valid token", async () => {
    await expectAuthRequired(h, "GET", "/v1/users", {}, { control: "owner" });
  });

  it("security: shows only the caller's tenant, and refuses ml-engineers, analysts and clients", async () => {
    const a = await h.newTenant("A");
    const b = await h.newTenant("B");
    const text = await (await h.request("/v1/users", { token: b.ownerToken })).text();
    expect(text).not.toContain(a.ownerId);
    for (const role of ["ml-engineer", "analyst"] as const) {
      await expectError(await h.request("/v1/users", { token: await a.tokenFor(role) }), 403, "FORBIDDEN");
    }
    const client = await a.clientToken(["models:read", "models:publish", "deployments:write"]);
    await expectError(await h.request("/v1/users", { token: client }), 403, "INSUFFICIENT_SCOPE");
  });
});

describe("POST /v1/users: happy", () => {
  it("adds a user with an invitation, never a credential; the person redeems it for a working first token", async () => {
    const t = await h.newTenant();
    const res = await addUser(t, { email: "Ada@Example.Test", name: "Ada", role: "ml-engineer" });
    expect(res.status).toBe(201);
    expect(res.headers.get("cache-control")).toBe("no-store");
    const body = createUserResponseSchema.parse(await res.json());
    expect(body.user).toMatchObject({
      email: "ada@example.test",
      name: "Ada",
      role: "ml-engineer",
      oidc: null,
      status: "invited",
    });
    expect(body.user.id).toMatch(idPattern("user"));
    expect(JSON.stringify(body)).not.toContain("churn_pat_");
    expect(body.invitation.code).toMatch(/^churn_inv_/);
    expect(Date.parse(body.invitation.expiresAt) - Date.now()).toBeGreaterThan(6 * 86_400_000);
    // The user has no token until the invitation is redeemed.
    const none = await h.deps.db
      .select()
      .from(personalAccessTokens)
      .where(eq(personalAccessTokens.userId, body.user.id));
    expect(none).toEqual([]);

    const redeemed = await redeem(body.invitation.code);
    expect(redeemed.status).toBe(201);
    const first = redeemInvitationResponseSchema.parse(await redeemed.json());
    expect(first.user).toMatchObject({ id: body.user.id, status: "active" });
    expect(first.token.token).toMatch(/^churn_pat_/);
    expect(Date.parse(first.token.expiresAt) - Date.now()).toBeGreaterThan(29 * 86_400_000);
    // The code works once.
    await expectError(await redeem(body.invitation.code), 401, "UNAUTHORIZED");

    // The token works and carries the role: an ml-engineer may read models but not users.
    expect((await h.request("/v1/deployment", { token: first.token.token })).status).toBe(404);
    await expectError(await h.request("/v1/users", { token: first.token.token }), 403, "FORBIDDEN");

    const [row] = await h.deps.db
      .select()
      .from(personalAccessTokens)
      .where(eq(personalAccessTokens.id, first.token.id));
    expect(row!.tokenHash).toBe(await sha256Hex(first.token.token));
    const dump = await h.cp.database.client.execute("select * from personal_access_tokens, invitations");
    expect(JSON.stringify(dump.rows)).not.toContain(first.token.token);
    expect(JSON.stringify(dump.rows)).not.toContain(body.invitation.code);
    expect(JSON.stringify(h.logs)).not.toContain(body.invitation.code);

    const chain = await expectValidAuditChain(h, t.tenantId);
    expect(chain.slice(-3).map((r) => [r.action, r.actorId])).toEqual([
      ["user.create", t.ownerId],
      ["invitation.create", t.ownerId],
      ["invitation.redeem", body.user.id],
    ]);
    expect(chain.at(-3)!.requestId).toBe(res.headers.get("x-request-id"));
  });

  it("lets an admin add users, and an owner add another owner", async () => {
    const t = await h.newTenant();
    const admin = await t.tokenFor("admin");
    expect((await addUser(t, { email: "a1@example.test", role: "admin" }, admin)).status).toBe(201);
    expect((await addUser(t, { email: "o2@example.test", role: "owner" })).status).toBe(201);
  });
});

describe("POST /v1/users: error", () => {
  it("refuses a bad body with 400 naming each field", async () => {
    const t = await h.newTenant();
    const cases: [unknown, string][] = [
      [{ email: "not-an-email", role: "analyst" }, "email"],
      [{ email: "x@example.test", role: "superuser" }, "role"],
      [{ email: "x@example.test" }, "role"],
      [{ role: "analyst" }, "email"],
      [{ email: "x@example.test", role: "analyst", name: "" }, "name"],
    ];
    for (const [body, field] of cases) {
      const err = await expectError(await addUser(t, body), 400, "INVALID_REQUEST");
      expect(
        err.error.issues?.map((i) => i.path),
        JSON.stringify(body),
      ).toContain(field);
    }
    await expectError(await addUser(t, "{not json"), 400, "INVALID_REQUEST");
    const text = await h.request("/v1/users", {
      method: "POST",
      token: t.ownerToken,
      headers: { "content-type": "text/plain" },
      body: "x",
    });
    await expectError(text, 415, "UNSUPPORTED_MEDIA_TYPE");
  });

  it("refuses a second user with the same email (any case) with 409", async () => {
    const t = await h.newTenant();
    expect((await addUser(t, { email: "dup@example.test", role: "analyst" })).status).toBe(201);
    const err = await expectError(
      await addUser(t, { email: "DUP@example.test", role: "admin" }),
      409,
      "CONFLICT",
    );
    expect(err.error.message).toContain("dup@example.test");
  });
});

describe("POST /v1/users: security", () => {
  it("requires a valid token", async () => {
    let n = 0;
    await expectAuthRequired(
      h,
      "POST",
      "/v1/users",
      () => ({
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ email: `probe-${++n}@example.test`, role: "analyst" }),
      }),
      { control: "owner" },
    );
  });

  it("refuses an admin granting a role with permissions the admin lacks (owner, auditor), and non-admins entirely", async () => {
    const t = await h.newTenant();
    const err = await expectError(
      await addUser(t, { email: "boss@example.test", role: "owner" }, await t.tokenFor("admin")),
      403,
      "FORBIDDEN",
    );
    expect(err.error.message).toContain("owner");
    // An auditor reads the audit log, which an admin cannot: creating one would be a way in.
    const auditor = await expectError(
      await addUser(t, { email: "eyes@example.test", role: "auditor" }, await t.tokenFor("admin")),
      403,
      "FORBIDDEN",
    );
    expect(auditor.error.message).toContain("audit:read");
    for (const role of ["ml-engineer", "analyst", "auditor"] as const) {
      await expectError(
        await addUser(t, { email: `${role}@example.test`, role: "admin" }, await t.tokenFor(role)),
        403,
        "FORBIDDEN",
      );
    }
    const rows = await h.deps.db.select().from(users).where(eq(users.tenantId, t.tenantId));
    expect(rows.map((r) => r.email)).not.toContain("boss@example.test");
    expect(rows.map((r) => r.email)).not.toContain("eyes@example.test");
  });
});

describe("PATCH /v1/users/{id}: happy", () => {
  it("changes a role, which applies to the user's existing tokens at once, audited with before and after", async () => {
    const t = await h.newTenant();
    const u = await t.addUser("analyst");
    await expectError(await h.request("/v1/users", { token: u.token }), 403, "FORBIDDEN");
    const res = await setRole(t.ownerToken, u.userId, "admin");
    expect(res.status).toBe(200);
    expect(userSchema.parse(await res.json())).toMatchObject({ id: u.userId, role: "admin" });
    expect((await h.request("/v1/users", { token: u.token })).status).toBe(200);

    const [entry] = (await h.deps.db.select().from(auditLog).where(eq(auditLog.tenantId, t.tenantId))).filter(
      (r) => r.action === "user.update",
    );
    expect(JSON.parse(entry!.details)).toEqual({ from: { role: "analyst" }, to: { role: "admin" } });
  });

  it("lets an owner demote themselves once another owner exists", async () => {
    const t = await h.newTenant();
    const second = await t.addUser("owner");
    const res = await setRole(second.token, t.ownerId, "admin");
    expect(res.status).toBe(200);
    expect(userSchema.parse(await res.json()).role).toBe("admin");
  });
});

describe("PATCH /v1/users/{id}: error", () => {
  it("refuses to demote the last owner with 409, and leaves the role as it was", async () => {
    const t = await h.newTenant();
    const err = await expectError(await setRole(t.ownerToken, t.ownerId, "admin"), 409, "CONFLICT");
    expect(err.error.message).toContain("last owner");
    const [row] = await h.deps.db.select().from(users).where(eq(users.id, t.ownerId));
    expect(row!.role).toBe("owner");
  });

  it("answers 404 for an unknown id and 400 for an unknown role", async () => {
    const t = await h.newTenant();
    await expectError(await setRole(t.ownerToken, "usr_doesnotexist", "admin"), 404, "NOT_FOUND");
    const u = await t.addUser("analyst");
    const err = await expectError(await setRole(t.ownerToken, u.userId, "root"), 400, "INVALID_REQUEST");
    expect(err.error.issues?.map((i) => i.path)).toContain("role");
  });
});

describe("PATCH /v1/users/{id}: security", () => {
  it("requires a valid token", async () => {
    const t = await h.newTenant();
    const u = await t.addUser("analyst");
    await expectAuthRequired(
      h,
      "PATCH",
      `/v1/users/${u.userId}`,
      { headers: { "content-type": "application/json" }, body: JSON.stringify({ role: "analyst" }) },
      { control: "owner" },
    );
  });

  it("is for owners only: an admin cannot promote anyone, not even to admin", async () => {
    const t = await h.newTenant();
    const u = await t.addUser("analyst");
    const admin = await t.addUser("admin");
    for (const [target, role] of [
      [u.userId, "admin"],
      [admin.userId, "owner"],
    ] as const) {
      await expectError(await setRole(admin.token, target, role), 403, "FORBIDDEN");
    }
  });

  it("answers another tenant's user id with 404, never 403, and changes nothing", async () => {
    const a = await h.newTenant("A");
    const b = await h.newTenant("B");
    const res = await setRole(b.ownerToken, a.ownerId, "analyst");
    const err = await expectError(res, 404, "NOT_FOUND");
    expect(err.error.message).toBe(`User '${a.ownerId}' not found`);
    const [row] = await h.deps.db.select().from(users).where(eq(users.id, a.ownerId));
    expect(row!.role).toBe("owner");
  });
});

// ---------------------------------------------------------------------------------------------------------
// /v1/users/me/tokens: a person's own personal access tokens

function createToken(token: string, body: unknown) {
  return h.request("/v1/users/me/tokens", {
    method: "POST",
    token,
    headers: { "content-type": "application/json" },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

const listTokens = async (token: string) =>
  personalAccessTokenListSchema.parse(await (await h.request("/v1/users/me/tokens", { token })).json())
    .tokens;

const revoke = (token: string, id: string) =>
  h.request(`/v1/users/me/tokens/${id}`, { method: "DELETE", token });

describe("POST /v1/users/me/tokens", () => {
  it("happy: creates a token for the caller, shown once, that authenticates as them", async () => {
    const t = await h.newTenant();
    const analyst = await t.addUser("analyst");
    const res = await createToken(analyst.token, { name: "laptop", ttlDays: 7 });
    expect(res.status).toBe(201);
    expect(res.headers.get("cache-control")).toBe("no-store");
    const created = newPersonalAccessTokenSchema.parse(await res.json());
    expect(created.id).toMatch(idPattern("pat"));
    expect(created).toMatchObject({ name: "laptop", revokedAt: null });
    const ttl = Date.parse(created.expiresAt) - Date.parse(created.createdAt);
    expect(ttl).toBe(7 * 86_400_000);
    expect((await h.request("/v1/models/churn/versions", { token: created.token })).status).toBe(404);

    const [row] = await h.deps.db
      .select()
      .from(personalAccessTokens)
      .where(eq(personalAccessTokens.id, created.id));
    expect(row!.userId).toBe(analyst.userId);
    const audit = await h.deps.db.select().from(auditLog).where(eq(auditLog.tenantId, t.tenantId));
    expect(audit.at(-1)).toMatchObject({ action: "pat.create", actorId: analyst.userId });
    expect(JSON.stringify(audit)).not.toContain(created.token);
  });

  it("error: refuses a missing name, a ttl over 365 days or below 1, with 400 naming the field", async () => {
    const t = await h.newTenant();
    for (const [body, field] of [
      [{ ttlDays: 5 }, "name"],
      [{ name: "x", ttlDays: 366 }, "ttlDays"],
      [{ name: "x", ttlDays: 0 }, "ttlDays"],
      [{ name: "x", ttlDays: 1.5 }, "ttlDays"],
      [{ name: "x".repeat(65) }, "name"],
    ] as const) {
      const err = await expectError(await createToken(t.ownerToken, body), 400, "INVALID_REQUEST");
      expect(
        err.error.issues?.map((i) => i.path),
        JSON.stringify(body),
      ).toContain(field);
    }
  });

  it("security: requires a valid token, and an API client (not a person) gets 403", async () => {
    await expectAuthRequired(
      h,
      "POST",
      "/v1/users/me/tokens",
      {
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ name: "probe", ttlDays: 1 }),
      },
      { control: "owner" },
    );
    const t = await h.newTenant();
    const client = await t.clientToken(["models:read", "models:publish", "deployments:write"]);
    await expectError(await createToken(client, { name: "x", ttlDays: 1 }), 403, "INSUFFICIENT_SCOPE");
  });
});

describe("GET /v1/users/me/tokens", () => {
  it("happy: lists only the caller's tokens, newest first, never the token itself", async () => {
    const t = await h.newTenant();
    const other = await t.addUser("admin");
    const a = newPersonalAccessTokenSchema.parse(
      await (await createToken(t.ownerToken, { name: "a" })).json(),
    );
    const res = await h.request("/v1/users/me/tokens", { token: t.ownerToken });
    const text = await res.text();
    expect(res.status).toBe(200);
    const { tokens } = personalAccessTokenListSchema.parse(JSON.parse(text));
    expect(tokens[0]).toMatchObject({ id: a.id, name: "a", revokedAt: null });
    expect(tokens.map((x) => x.name)).toContain("bootstrap");
    expect(text).not.toContain(a.token);
    expect(text).not.toContain("churn_pat_");
    expect((await listTokens(other.token)).map((x) => x.name)).toEqual(["first"]);
  });

  it("error: a client principal has no tokens of its own (403)", async () => {
    const t = await h.newTenant();
    const res = await h.request("/v1/users/me/tokens", { token: await t.clientToken(["models:read"]) });
    await expectError(res, 403, "INSUFFICIENT_SCOPE");
  });

  it("security: requires a valid token", async () => {
    await expectAuthRequired(h, "GET", "/v1/users/me/tokens", {}, { control: "owner" });
  });
});

describe("DELETE /v1/users/me/tokens/{id}", () => {
  it("happy: revokes at once (the token stops working), audited; revoking again is harmless", async () => {
    const t = await h.newTenant();
    const made = newPersonalAccessTokenSchema.parse(
      await (await createToken(t.ownerToken, { name: "ci", ttlDays: 30 })).json(),
    );
    expect((await h.request("/v1/users", { token: made.token })).status).toBe(200);
    const res = await revoke(t.ownerToken, made.id);
    expect(res.status).toBe(204);
    await expectError(await h.request("/v1/users", { token: made.token }), 401, "UNAUTHORIZED");
    expect((await listTokens(t.ownerToken)).find((x) => x.id === made.id)?.revokedAt).not.toBeNull();
    expect((await revoke(t.ownerToken, made.id)).status).toBe(204);
    const revokes = (await h.deps.db.select().from(auditLog).where(eq(auditLog.tenantId, t.tenantId))).filter(
      (r) => r.action === "pat.revoke",
    );
    expect(revokes).toHaveLength(1);
    // A token can revoke itself: the caller's own bootstrap token.
    const own = (await listTokens(t.ownerToken)).find((x) => x.name === "bootstrap")!;
    expect((await revoke(t.ownerToken, own.id)).status).toBe(204);
    await expectError(await h.request("/v1/users", { token: t.ownerToken }), 401, "UNAUTHORIZED");
  });

  it("error: an unknown id is 404", async () => {
    const t = await h.newTenant();
    await expectError(await revoke(t.ownerToken, "pat_doesnotexist"), 404, "NOT_FOUND");
  });

  it("security: requires a valid token; another person's token (same or other tenant) is 404 and stays valid", async () => {
    await expectAuthRequired(h, "DELETE", "/v1/users/me/tokens/pat_doesnotexist", {}, { control: "owner" });
    const a = await h.newTenant("A");
    const b = await h.newTenant("B");
    const colleague = await a.addUser("admin");
    const target = newPersonalAccessTokenSchema.parse(
      await (await createToken(colleague.token, { name: "mine" })).json(),
    );
    for (const attacker of [a.ownerToken, b.ownerToken]) {
      const err = await expectError(await revoke(attacker, target.id), 404, "NOT_FOUND");
      expect(err.error.message).toBe(`Personal access token '${target.id}' not found`);
    }
    expect((await h.request("/v1/users", { token: target.token })).status).toBe(200);
  });
});
