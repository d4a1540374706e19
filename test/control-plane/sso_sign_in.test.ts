import { and, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AuditContext } from "../../control-plane/src/modules/audit/audit.ts";
import {
  type FederatedIdentity,
  signInFederatedUser,
} from "../../control-plane/src/modules/identity/federated-users.ts";
import { createUser } from "../../control-plane/src/modules/identity/users.ts";
import {
  emailDomainAllowed,
  groupsIn,
  nameIn,
  roleFor,
  verifiedEmailIn,
} from "../../control-plane/src/modules/sso/claims.ts";
import { auditLog, invitations, users } from "../../control-plane/src/platform/db/schema/index.ts";
import {
  type ControlPlaneHarness,
  startControlPlane,
  type TestTenant,
} from "../helpers/control-plane-harness.ts";

/**
 * Who a verified SSO identity is, below the browser flow (test/console/sso.test.ts drives that through a
 * real provider): the claim rules, and finding, linking and creating users with their edge cases.
 */

let h: ControlPlaneHarness;
beforeAll(async () => {
  h = await startControlPlane();
});
afterAll(() => h?.close());

const REQUEST: Omit<AuditContext, "actor"> = {
  requestId: "req_sso_test",
  ip: "192.0.2.1",
  userAgent: "test",
};
const ISSUER = "https://idp.example.test";
let subjects = 0;

const identity = (overrides: Partial<FederatedIdentity> = {}): FederatedIdentity => {
  const n = ++subjects;
  return {
    issuer: ISSUER,
    subject: `subject-${n}`,
    verifiedEmail: `person-${n}@example.test`,
    name: `Person ${n}`,
    role: "analyst",
    ...overrides,
  };
};

const signIn = (t: TestTenant, who: FederatedIdentity) =>
  signInFederatedUser(h.deps.db, REQUEST, t.tenantId, who);

const actions = async (t: TestTenant, userId: string) =>
  (await h.deps.db.select().from(auditLog).where(eq(auditLog.tenantId, t.tenantId)))
    .filter((r) => r.targets.includes(userId))
    .map((r) => r.action);

const ownerOf = (t: TestTenant) =>
  ({ tenantId: t.tenantId, kind: "user", id: t.ownerId, role: "owner", scopes: new Set<string>() }) as const;

describe("SSO claims", () => {
  it("reads groups from a claim, a dotted path, or a single string", () => {
    expect(groupsIn({ groups: ["a", "b", 3, ""] }, "groups")).toEqual(["a", "b"]);
    expect(groupsIn({ realm_access: { roles: ["admins"] } }, "realm_access.roles")).toEqual(["admins"]);
    expect(groupsIn({ "realm_access.roles": ["flat"] }, "realm_access.roles")).toEqual(["flat"]);
    expect(groupsIn({ groups: "solo" }, "groups")).toEqual(["solo"]);
    expect(groupsIn({ groups: { nested: true } }, "groups")).toEqual([]);
    expect(groupsIn({}, "groups")).toEqual([]);
  });

  it("takes an email only when the provider verified it", () => {
    expect(verifiedEmailIn({ email: " Alice@Example.TEST ", email_verified: true })).toBe(
      "alice@example.test",
    );
    expect(verifiedEmailIn({ email: "alice@example.test", email_verified: "true" })).toBeNull();
    expect(verifiedEmailIn({ email: "alice@example.test" })).toBeNull();
    expect(verifiedEmailIn({ email: "not an email", email_verified: true })).toBeNull();
    expect(nameIn({ preferred_username: "alice" })).toBe("alice");
    expect(nameIn({ name: "  " })).toBeNull();
  });

  it("gives the first mapped group's role, else the default, else none; owner only when mapped", () => {
    const mappings = [
      { group: "founders", role: "owner" },
      { group: "admins", role: "admin" },
      { group: "analysts", role: "analyst" },
    ] as const;
    expect(roleFor(["analysts", "admins"], [...mappings], null)).toBe("admin");
    expect(roleFor(["founders", "analysts"], [...mappings], null)).toBe("owner");
    expect(roleFor(["elsewhere"], [...mappings], "auditor")).toBe("auditor");
    expect(roleFor([], [...mappings], null)).toBeNull();
  });

  it("allows any verified email without domains, else only the listed domains exactly", () => {
    expect(emailDomainAllowed(null, [])).toBe(true);
    expect(emailDomainAllowed("a@example.com", ["example.com"])).toBe(true);
    expect(emailDomainAllowed("a@evil.example.com", ["example.com"])).toBe(false);
    expect(emailDomainAllowed("a@example.com.evil", ["example.com"])).toBe(false);
    expect(emailDomainAllowed(null, ["example.com"])).toBe(false);
  });
});

describe("signing in a verified identity", () => {
  it("creates a user just in time, then finds the same user by (issuer, subject)", async () => {
    const t = await h.newTenant();
    const who = identity({ role: "ml-engineer" });
    const first = await signIn(t, who);
    expect(first.via).toBe("created");
    expect(first.user).toMatchObject({
      tenantId: t.tenantId,
      email: who.verifiedEmail,
      role: "ml-engineer",
      oidcIssuer: ISSUER,
      oidcSubject: who.subject,
    });
    expect(first.user.activatedAt).not.toBeNull();
    // The email changes at the provider: the identity, not the address, says who it is.
    const again = await signIn(t, { ...who, verifiedEmail: "renamed@example.test" });
    expect(again).toMatchObject({ via: "linked", user: { id: first.user.id } });
    expect(await actions(t, first.user.id)).toEqual(["user.create", "user.sso_sign_in", "user.sso_sign_in"]);
    const created = (
      await h.deps.db
        .select()
        .from(auditLog)
        .where(and(eq(auditLog.tenantId, t.tenantId), eq(auditLog.action, "user.create")))
    ).find((r) => r.targets.includes(first.user.id));
    expect(created).toMatchObject({ actorType: "user", actorId: first.user.id, requestId: "req_sso_test" });
  });

  it("links an invited user by verified email and withdraws their invitation", async () => {
    const t = await h.newTenant();
    const { user } = await createUser(
      h.deps.db,
      { ...REQUEST, actor: { type: "user", id: t.ownerId } },
      ownerOf(t),
      {
        email: "invited@example.test",
        role: "analyst",
      },
    );
    const result = await signIn(t, identity({ verifiedEmail: "invited@example.test", role: "admin" }));
    expect(result).toMatchObject({ via: "email", user: { id: user.id, role: "admin" } });
    const [row] = await h.deps.db.select().from(users).where(eq(users.id, user.id));
    expect(row).toMatchObject({ oidcIssuer: ISSUER, role: "admin" });
    expect(row!.activatedAt).not.toBeNull();
    const [invitation] = await h.deps.db.select().from(invitations).where(eq(invitations.userId, user.id));
    expect(invitation!.withdrawnAt).not.toBeNull();
    expect(await actions(t, user.id)).toEqual(expect.arrayContaining(["user.update", "user.sso_sign_in"]));
  });

  it("refuses a user already linked to another identity, one without a verified email, and other tenants' identities", async () => {
    const t = await h.newTenant();
    const linked = identity();
    await signIn(t, linked);
    await expect(signIn(t, identity({ verifiedEmail: linked.verifiedEmail }))).rejects.toMatchObject({
      code: "FORBIDDEN",
      message: expect.stringContaining("already linked to another identity"),
    });
    await expect(signIn(t, identity({ verifiedEmail: null }))).rejects.toMatchObject({
      code: "FORBIDDEN",
      message: expect.stringContaining("verified email"),
    });
    const other = await h.newTenant("Other");
    await expect(signIn(other, linked)).rejects.toMatchObject({
      code: "FORBIDDEN",
      message: expect.stringContaining("another tenant"),
    });
    const [nobody] = await h.deps.db.select().from(users).where(eq(users.tenantId, other.tenantId));
    expect(nobody?.email).not.toBe(linked.verifiedEmail);
  });

  it("refuses disabled and deleted users, found by identity or by email", async () => {
    const t = await h.newTenant();
    const who = identity();
    const { user } = await signIn(t, who);
    const owner = await t.tokenFor("owner");
    expect((await h.request(`/v1/users/${user.id}/disable`, { method: "POST", token: owner })).status).toBe(
      200,
    );
    await expect(signIn(t, who)).rejects.toMatchObject({
      code: "FORBIDDEN",
      message: expect.stringContaining("disabled"),
    });

    const invited = await createUser(
      h.deps.db,
      { ...REQUEST, actor: { type: "user", id: t.ownerId } },
      ownerOf(t),
      {
        email: "leaver@example.test",
        role: "analyst",
      },
    );
    expect(
      (await h.request(`/v1/users/${invited.user.id}/disable`, { method: "POST", token: owner })).status,
    ).toBe(200);
    await expect(signIn(t, identity({ verifiedEmail: "leaver@example.test" }))).rejects.toMatchObject({
      code: "FORBIDDEN",
    });

    const deleted = identity();
    const { user: gone } = await signIn(t, deleted);
    expect((await h.request(`/v1/users/${gone.id}`, { method: "DELETE", token: owner })).status).toBe(204);
    await expect(signIn(t, deleted)).rejects.toMatchObject({ code: "FORBIDDEN" });
  });

  it("follows the mapped role, but never demotes the tenant's last owner", async () => {
    const t = await h.newTenant();
    const who = identity({ role: "admin" });
    const { user } = await signIn(t, who);
    expect((await signIn(t, { ...who, role: "auditor" })).user.role).toBe("auditor");
    expect(await actions(t, user.id)).toContain("user.update");

    const owner = identity({ verifiedEmail: null });
    await h.deps.db
      .update(users)
      .set({ oidcIssuer: ISSUER, oidcSubject: owner.subject })
      .where(eq(users.id, t.ownerId));
    const result = await signIn(t, { ...owner, role: "analyst" });
    expect(result).toMatchObject({ via: "linked", user: { id: t.ownerId, role: "owner" } });
  });
});
