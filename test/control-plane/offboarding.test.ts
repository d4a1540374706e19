import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { userListSchema, userSchema } from "#shared/identity.ts";
import { createOwnToken } from "../../control-plane/src/modules/identity/personal-access-tokens.ts";
import { personalAccessTokens } from "../../control-plane/src/platform/db/schema/index.ts";
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

const post = (path: string, token: string) => h.request(path, { method: "POST", token });

/** A person with their invitation's token, a token they minted themselves and a console session. */
async function personWithTokens(t: TestTenant, role: "analyst" | "admin" | "auditor" = "analyst") {
  const person = await t.addUser(role);
  const mint = await h.request("/v1/users/me/tokens", {
    method: "POST",
    token: person.token,
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ name: "laptop", ttlDays: 365 }),
  });
  expect(mint.status).toBe(201);
  const minted = ((await mint.json()) as { token: string }).token;
  const session = await createOwnToken(
    h.deps.db,
    { actor: { type: "user", id: person.userId }, requestId: null, ip: null, userAgent: null },
    { tenantId: t.tenantId, userId: person.userId },
    { name: "Console session", ttlDays: 0.5 },
  );
  const tokens = [person.token, minted, session.token];
  for (const token of tokens) expect((await h.request("/v1/users/me/tokens", { token })).status).toBe(200);
  return { ...person, tokens };
}

async function expectAllRefused(tokens: string[]): Promise<void> {
  for (const token of tokens) {
    await expectError(await h.request("/v1/users/me/tokens", { token }), 401, "UNAUTHORIZED");
    // Nor can a refused token mint a fresh one.
    const mint = await h.request("/v1/users/me/tokens", {
      method: "POST",
      token,
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ name: "again", ttlDays: 365 }),
    });
    expect(mint.status).toBe(401);
  }
}

describe("POST /v1/users/{id}/disable", () => {
  it("stops the user's first token, a token they minted and their console session at once, audited", async () => {
    const t = await h.newTenant();
    const person = await personWithTokens(t);
    const res = await post(`/v1/users/${person.userId}/disable`, await t.tokenFor("admin"));
    expect(res.status).toBe(200);
    expect(userSchema.parse(await res.json()).status).toBe("disabled");
    await expectAllRefused(person.tokens);
    const rows = await h.deps.db
      .select()
      .from(personalAccessTokens)
      .where(eq(personalAccessTokens.userId, person.userId));
    expect(rows.every((r) => r.revokedAt !== null)).toBe(true);
    const chain = await expectValidAuditChain(h, t.tenantId);
    expect(chain.slice(-2).map((r) => r.action)).toEqual(["user.disable", "user.tokens_revoke"]);
    expect(JSON.parse(chain.at(-1)!.details)).toEqual({ revoked: 3 });
    // Disabling twice is harmless.
    expect((await post(`/v1/users/${person.userId}/disable`, t.ownerToken)).status).toBe(200);
  });

  it("withdraws an open invitation: a disabled user's code redeems nothing", async () => {
    const t = await h.newTenant();
    const created = await h.request("/v1/users", {
      method: "POST",
      token: t.ownerToken,
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ email: "leaver@example.test", role: "analyst" }),
    });
    const { user, invitation } = (await created.json()) as {
      user: { id: string };
      invitation: { code: string };
    };
    expect((await post(`/v1/users/${user.id}/disable`, t.ownerToken)).status).toBe(200);
    const redeem = await h.request("/v1/invitations/redeem", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ code: invitation.code }),
    });
    await expectError(redeem, 401, "UNAUTHORIZED");
  });

  it("refuses disabling yourself, the last owner, or someone more powerful than you", async () => {
    const t = await h.newTenant();
    const admin = await t.addUser("admin");
    await expectError(await post(`/v1/users/${admin.userId}/disable`, admin.token), 409, "CONFLICT");
    const owner = await expectError(
      await post(`/v1/users/${t.ownerId}/disable`, admin.token),
      403,
      "FORBIDDEN",
    );
    expect(owner.error.message).toContain("owner");
    const auditor = await t.addUser("auditor");
    await expectError(await post(`/v1/users/${auditor.userId}/disable`, admin.token), 403, "FORBIDDEN");
    await expectError(await post(`/v1/users/${t.ownerId}/disable`, t.ownerToken), 409, "CONFLICT");
    // Another owner may disable the first, which then no longer counts as an owner who can act.
    const second = await t.addUser("owner");
    expect((await post(`/v1/users/${t.ownerId}/disable`, second.token)).status).toBe(200);
    const other = await t.addUser("owner");
    expect((await post(`/v1/users/${second.userId}/disable`, other.token)).status).toBe(200);
    const last = await expectError(
      await post(`/v1/users/${other.userId}/disable`, t.ownerToken),
      401,
      "UNAUTHORIZED",
    );
    expect(last.error.code).toBe("UNAUTHORIZED"); // the first owner's token died with them
  });

  it("needs users:write, and another tenant's user is a 404", async () => {
    const t = await h.newTenant();
    const person = await t.addUser("analyst");
    for (const role of ["ml-engineer", "analyst", "auditor"] as const)
      await expectError(
        await post(`/v1/users/${person.userId}/disable`, await t.tokenFor(role)),
        403,
        "FORBIDDEN",
      );
    const other = await h.newTenant("Other");
    await expectError(await post(`/v1/users/${person.userId}/disable`, other.ownerToken), 404, "NOT_FOUND");
    await expectAuthRequired(h, "POST", `/v1/users/${person.userId}/disable`, {}, { control: "owner" });
  });
});

describe("DELETE /v1/users/{id}", () => {
  it("cuts the user off like disabling, removes their email and name, and lets the address be invited again", async () => {
    const t = await h.newTenant();
    const person = await personWithTokens(t);
    const res = await h.request(`/v1/users/${person.userId}`, { method: "DELETE", token: t.ownerToken });
    expect(res.status).toBe(204);
    await expectAllRefused(person.tokens);
    const list = userListSchema.parse(await (await h.request("/v1/users", { token: t.ownerToken })).json());
    const gone = list.users.find((u) => u.id === person.userId)!;
    expect(gone).toMatchObject({ status: "deleted", name: "Deleted user" });
    expect(gone.email).not.toContain("example.test");
    const before = list.users.length;
    const again = await h.request("/v1/users", {
      method: "POST",
      token: t.ownerToken,
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ email: `analyst-1-${t.tenantId.slice(4, 10)}@example.test`, role: "analyst" }),
    });
    expect(again.status).toBe(201);
    expect(
      userListSchema.parse(await (await h.request("/v1/users", { token: t.ownerToken })).json()).users,
    ).toHaveLength(before + 1);
    const chain = await expectValidAuditChain(h, t.tenantId);
    expect(chain.map((r) => r.action)).toContain("user.delete");
    await expectError(
      await h.request(`/v1/users/${person.userId}`, { method: "DELETE", token: t.ownerToken }),
      404,
      "NOT_FOUND",
    );
  });
});

describe("POST /v1/users/{id}/tokens/revoke", () => {
  it("revokes every token and session of the user, who stays enabled and can be given a way back in", async () => {
    const t = await h.newTenant();
    const person = await personWithTokens(t);
    const res = await post(`/v1/users/${person.userId}/tokens/revoke`, await t.tokenFor("admin"));
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ revoked: 3 });
    await expectAllRefused(person.tokens);
    const list = userListSchema.parse(await (await h.request("/v1/users", { token: t.ownerToken })).json());
    expect(list.users.find((u) => u.id === person.userId)?.status).toBe("active");
    await expectError(
      await post(`/v1/users/${t.ownerId}/tokens/revoke`, await t.tokenFor("admin")),
      403,
      "FORBIDDEN",
    );
  });
});

describe("POST /v1/users/{id}/invitation", () => {
  it("replaces a lost invitation: the old code stops working, the new one redeems", async () => {
    const t = await h.newTenant();
    const created = await h.request("/v1/users", {
      method: "POST",
      token: t.ownerToken,
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ email: "late@example.test", role: "analyst" }),
    });
    const { user, invitation } = (await created.json()) as {
      user: { id: string };
      invitation: { code: string };
    };
    const fresh = await post(`/v1/users/${user.id}/invitation`, t.ownerToken);
    expect(fresh.status).toBe(201);
    const { code } = (await fresh.json()) as { code: string };
    const redeem = (c: string) =>
      h.request("/v1/invitations/redeem", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ code: c }),
      });
    await expectError(await redeem(invitation.code), 401, "UNAUTHORIZED");
    expect((await redeem(code)).status).toBe(201);
    // Once active, there is nothing to invite.
    await expectError(await post(`/v1/users/${user.id}/invitation`, t.ownerToken), 409, "CONFLICT");
  });
});
