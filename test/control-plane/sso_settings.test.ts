import { and, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ssoSettingsSchema } from "#shared/sso.ts";
import { auditLog, ssoProviders } from "../../control-plane/src/platform/db/schema/index.ts";
import {
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

const SECRET = "idp-client-secret-0123456789-do-not-leak";

const valid = (overrides: Record<string, unknown> = {}) => ({
  issuer: "https://idp.example.com/realms/acme",
  clientId: "churn-console",
  clientSecret: SECRET,
  allowedEmailDomains: ["Example.com"],
  groupsClaim: "groups",
  roleMappings: [
    { group: "churn-admins", role: "admin" },
    { group: "churn-analysts", role: "analyst" },
  ],
  ...overrides,
});

const put = (t: TestTenant, body: unknown, token = t.ownerToken) =>
  h.request("/v1/settings/sso", {
    method: "PUT",
    token,
    headers: { "content-type": "application/json" },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });

const get = (t: TestTenant, token = t.ownerToken) => h.request("/v1/settings/sso", { token });

const storedSecret = async (t: TestTenant) =>
  (await h.deps.db.select().from(ssoProviders).where(eq(ssoProviders.tenantId, t.tenantId)))[0]?.clientSecret;

const ssoAudit = (t: TestTenant) =>
  h.deps.db
    .select()
    .from(auditLog)
    .where(and(eq(auditLog.tenantId, t.tenantId), eq(auditLog.action, "sso.update")))
    .orderBy(auditLog.seq);

describe("/v1/settings/sso: happy", () => {
  it("stores the provider, shows it without the secret, and audits the change", async () => {
    const t = await h.newTenant();
    await expectError(await get(t), 404, "NOT_FOUND");

    const res = await put(t, valid());
    const text = await res.text();
    expect(res.status, text).toBe(200);
    const settings = ssoSettingsSchema.parse(JSON.parse(text));
    expect(settings).toMatchObject({
      enabled: true,
      issuer: "https://idp.example.com/realms/acme",
      clientId: "churn-console",
      clientSecretSet: true,
      allowedEmailDomains: ["example.com"],
      groupsClaim: "groups",
      roleMappings: [
        { group: "churn-admins", role: "admin" },
        { group: "churn-analysts", role: "analyst" },
      ],
      defaultRole: null,
      redirectUri: "http://localhost/console/sso/callback",
      signInUrl: `http://localhost/console/sign-in?tenant=${t.tenantId}`,
    });
    expect(text).not.toContain(SECRET);
    expect(JSON.parse(text)).not.toHaveProperty("clientSecret");

    const again = await get(t);
    expect(again.status).toBe(200);
    const shown = await again.text();
    expect(shown).not.toContain(SECRET);
    expect(ssoSettingsSchema.parse(JSON.parse(shown))).toEqual(settings);

    const [entry] = await ssoAudit(t);
    expect(entry).toMatchObject({ actorType: "user", actorId: t.ownerId });
    expect(entry!.details).not.toContain(SECRET);
    expect(JSON.parse(entry!.details)).toMatchObject({
      from: null,
      to: { issuer: "https://idp.example.com/realms/acme", clientId: "churn-console" },
      clientSecretChanged: true,
    });
    expect(JSON.stringify(h.logs)).not.toContain(SECRET);
  });

  it("keeps the stored secret when a change omits it, and replaces it when one is sent", async () => {
    const t = await h.newTenant();
    expect((await put(t, valid())).status).toBe(200);
    const { clientSecret: _, ...withoutSecret } = valid({ enabled: false, defaultRole: "analyst" });
    const res = await put(t, withoutSecret);
    expect(res.status, await res.clone().text()).toBe(200);
    expect(await res.json()).toMatchObject({ enabled: false, defaultRole: "analyst", clientSecretSet: true });
    expect(await storedSecret(t)).toBe(SECRET);

    expect((await put(t, valid({ clientSecret: "a-new-secret" }))).status).toBe(200);
    expect(await storedSecret(t)).toBe("a-new-secret");
    const entries = await ssoAudit(t);
    expect(entries.map((e) => JSON.parse(e.details).clientSecretChanged)).toEqual([true, false, true]);
  });
});

describe("/v1/settings/sso: errors", () => {
  it("refuses invalid settings with 400 naming the field", async () => {
    const t = await h.newTenant();
    const cases: [unknown, string][] = [
      [valid({ issuer: "http://idp.example.com" }), "issuer"],
      [valid({ issuer: "ftp://idp.example.com" }), "issuer"],
      [valid({ issuer: "https://idp.example.com/?tenant=1" }), "issuer"],
      [valid({ issuer: "https://10.0.0.5/realms/acme" }), "issuer"],
      [valid({ issuer: "https://localhost/realms/acme" }), "issuer"],
      [valid({ issuer: undefined }), "issuer"],
      [valid({ clientId: "" }), "clientId"],
      [valid({ clientSecret: undefined }), "clientSecret"],
      [valid({ allowedEmailDomains: ["not a domain"] }), "allowedEmailDomains.0"],
      [valid({ defaultRole: "owner" }), "defaultRole"],
      [valid({ roleMappings: [{ group: "x", role: "emperor" }] }), "roleMappings.0.role"],
      [valid({ roleMappings: [{ group: "", role: "admin" }] }), "roleMappings.0.group"],
      [
        valid({
          roleMappings: [
            { group: "dup", role: "admin" },
            { group: "dup", role: "analyst" },
          ],
        }),
        "roleMappings.1.group",
      ],
    ];
    for (const [body, path] of cases) {
      const error = await expectError(await put(t, body), 400, "INVALID_REQUEST");
      expect(
        error.error.issues?.map((i) => i.path),
        JSON.stringify(body),
      ).toContain(path);
    }
    await expectError(await put(t, "{not json"), 400, "INVALID_REQUEST");
    await expectError(
      await h.request("/v1/settings/sso", {
        method: "PUT",
        token: t.ownerToken,
        headers: { "content-type": "text/plain" },
        body: JSON.stringify(valid()),
      }),
      415,
      "UNSUPPORTED_MEDIA_TYPE",
    );
    // Nothing was stored by any refusal.
    await expectError(await get(t), 404, "NOT_FOUND");
  });

  it("asks for the secret again when the issuer or client id changes, so it never reaches another provider", async () => {
    const t = await h.newTenant();
    expect((await put(t, valid())).status).toBe(200);
    for (const change of [{ issuer: "https://other-idp.example.com" }, { clientId: "another-client" }]) {
      const { clientSecret: _, ...body } = valid(change);
      const error = await expectError(await put(t, body), 400, "INVALID_REQUEST");
      expect(error.error.issues?.map((i) => i.path)).toEqual(["clientSecret"]);
    }
    expect((await get(t).then((r) => r.json())) as { issuer: string }).toMatchObject({
      issuer: "https://idp.example.com/realms/acme",
    });
  });
});

describe("/v1/settings/sso: security", () => {
  it("requires authentication", async () => {
    await expectAuthRequired(h, "GET", "/v1/settings/sso", {}, { control: "owner" });
    await expectAuthRequired(
      h,
      "PUT",
      "/v1/settings/sso",
      () => ({ headers: { "content-type": "application/json" }, body: JSON.stringify(valid()) }),
      { control: "owner" },
    );
  });

  it("lets owners and admins set it, auditors read it, and nobody else either", async () => {
    const t = await h.newTenant();
    const admin = await t.tokenFor("admin");
    expect((await put(t, valid(), admin)).status).toBe(200);
    for (const role of ["ml-engineer", "analyst", "auditor"] as const) {
      const error = await expectError(await put(t, valid(), await t.tokenFor(role)), 403, "FORBIDDEN");
      expect(error.error.message).toContain("settings:write");
    }
    expect((await get(t, await t.tokenFor("auditor"))).status).toBe(200);
    for (const role of ["ml-engineer", "analyst"] as const)
      await expectError(await get(t, await t.tokenFor(role)), 403, "FORBIDDEN");
    const client = await t.clientToken(["predict", "models:read", "models:publish", "deployments:write"]);
    await expectError(await get(t, client), 403, "INSUFFICIENT_SCOPE");
    await expectError(await put(t, valid(), client), 403, "INSUFFICIENT_SCOPE");
  });

  it("never lets a mapping grant more than its author holds: only owners map to owner or auditor", async () => {
    const t = await h.newTenant();
    const admin = await t.tokenFor("admin");
    for (const role of ["owner", "auditor"]) {
      const body = valid({ roleMappings: [{ group: "top", role }] });
      const error = await expectError(await put(t, body, admin), 403, "FORBIDDEN");
      expect(error.error.message).toContain(role);
    }
    await expectError(await get(t), 404, "NOT_FOUND");

    const ownerMapping = valid({ roleMappings: [{ group: "founders", role: "owner" }] });
    expect((await put(t, ownerMapping)).status).toBe(200);
    // Nor can an admin take an owner mapping away, or switch the settings that hold one off.
    for (const body of [valid(), { ...ownerMapping, enabled: false }]) {
      const error = await expectError(await put(t, body, admin), 403, "FORBIDDEN");
      expect(error.error.message).toContain("owner");
    }
    expect(await get(t).then((r) => r.json())).toMatchObject({
      enabled: true,
      roleMappings: [{ group: "founders", role: "owner" }],
    });
  });

  it("keeps each tenant's settings to itself", async () => {
    const a = await h.newTenant("A");
    const b = await h.newTenant("B");
    expect((await put(a, valid())).status).toBe(200);
    await expectError(await get(b), 404, "NOT_FOUND");
    expect((await put(b, valid({ clientId: "b-client", clientSecret: "b-secret" }))).status).toBe(200);
    expect(await get(a).then((r) => r.json())).toMatchObject({ clientId: "churn-console" });
    expect(await get(b).then((r) => r.json())).toMatchObject({ clientId: "b-client" });
    expect(await storedSecret(a)).toBe(SECRET);
    expect((await ssoAudit(a)).length).toBe(1);
    expect(await h.deps.db.select().from(auditLog).where(eq(auditLog.tenantId, b.tenantId))).not.toEqual(
      expect.arrayContaining([expect.objectContaining({ targets: expect.stringContaining(a.tenantId) })]),
    );
  });
});
