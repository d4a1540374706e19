import { X509Certificate } from "node:crypto";
import { and, eq } from "drizzle-orm";
import * as samlify from "samlify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { samlSettingsSchema } from "#shared/saml.ts";
import { auditLog } from "../../control-plane/src/platform/db/schema/index.ts";
import {
  type ControlPlaneHarness,
  expectAuthRequired,
  expectError,
  startControlPlane,
  type TestTenant,
} from "../helpers/control-plane-harness.ts";
import { selfSignedCertificate, type TestKeyPair } from "../helpers/saml-idp.ts";

/**
 * PUT/GET /v1/settings/saml and the public service provider metadata: what a tenant's owner or admin
 * sets, what is refused (certificates above all), who may see and change it, and the rule that a tenant
 * signs in through OpenID Connect or SAML, never both.
 */

let h: ControlPlaneHarness;
let current: TestKeyPair;
let next: TestKeyPair;
let ec: TestKeyPair;
let weak: TestKeyPair;
beforeAll(async () => {
  h = await startControlPlane({ PUBLIC_URL: "https://churn.example.com" });
  [current, next, ec, weak] = await Promise.all([
    selfSignedCertificate("idp.example.com current"),
    selfSignedCertificate("idp.example.com next"),
    selfSignedCertificate("idp.example.com ec", "ec"),
    selfSignedCertificate("idp.example.com weak", 1024),
  ]);
});
afterAll(() => h?.close());

const valid = (overrides: Record<string, unknown> = {}) => ({
  idpEntityId: "http://www.okta.com/exk1example",
  idpSsoUrl: "https://example.okta.com/app/churn/exk1example/sso/saml",
  idpCertificates: [current.certificate],
  allowedEmailDomains: ["Example.com"],
  roleMappings: [
    { group: "churn-admins", role: "admin" },
    { group: "churn-analysts", role: "analyst" },
  ],
  ...overrides,
});

const put = (t: TestTenant, body: unknown, token = t.ownerToken, path = "/v1/settings/saml") =>
  h.request(path, {
    method: "PUT",
    token,
    headers: { "content-type": "application/json" },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });

const get = (t: TestTenant, token = t.ownerToken) => h.request("/v1/settings/saml", { token });

const samlAudit = (t: TestTenant) =>
  h.deps.db
    .select()
    .from(auditLog)
    .where(and(eq(auditLog.tenantId, t.tenantId), eq(auditLog.action, "saml.update")))
    .orderBy(auditLog.seq);

describe("/v1/settings/saml: happy", () => {
  it("stores the provider, shows its certificates and our endpoints on the public origin, and audits the change", async () => {
    const t = await h.newTenant();
    await expectError(await get(t), 404, "NOT_FOUND");

    // A rollover: the current and the next certificate, the second pasted with Windows line endings.
    const res = await put(
      t,
      valid({ idpCertificates: [current.certificate, next.certificate.replaceAll("\n", "\r\n")] }),
    );
    const text = await res.text();
    expect(res.status, text).toBe(200);
    const settings = samlSettingsSchema.parse(JSON.parse(text));
    const origin = "https://churn.example.com";
    expect(settings).toMatchObject({
      enabled: true,
      idpEntityId: "http://www.okta.com/exk1example",
      allowedEmailDomains: ["example.com"],
      emailAttribute: "email",
      groupsAttribute: "groups",
      defaultRole: null,
      spEntityId: `${origin}/v1/saml/${t.tenantId}/metadata`,
      metadataUrl: `${origin}/v1/saml/${t.tenantId}/metadata`,
      acsUrl: `${origin}/console/saml/${t.tenantId}/acs`,
      signInUrl: `${origin}/console/sign-in?tenant=${t.tenantId}`,
    });
    expect(settings.idpCertificates).toEqual([
      new X509Certificate(current.certificate).toString(),
      new X509Certificate(next.certificate).toString(),
    ]);
    expect(settings.certificates.map((c) => c.sha256Fingerprint)).toEqual([
      new X509Certificate(current.certificate).fingerprint256,
      new X509Certificate(next.certificate).fingerprint256,
    ]);
    expect(settings.certificates[0]!.subject).toBe("CN=idp.example.com current");
    expect(Date.parse(settings.certificates[0]!.notAfter)).toBeGreaterThan(Date.now());

    expect(samlSettingsSchema.parse(await (await get(t)).json())).toEqual(settings);

    const [entry] = await samlAudit(t);
    expect(entry).toMatchObject({ actorType: "user", actorId: t.ownerId });
    expect(JSON.parse(entry!.details)).toMatchObject({
      from: null,
      to: {
        idpEntityId: "http://www.okta.com/exk1example",
        idpCertificates: settings.certificates.map((c) => c.sha256Fingerprint),
      },
    });
  });

  it("serves our metadata to the provider: entity id, the HTTP-POST assertion consumer service, signed assertions wanted", async () => {
    const t = await h.newTenant();
    // Before any settings: the provider's side is usually set up first.
    const res = await h.request(`/v1/saml/${t.tenantId}/metadata`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/samlmetadata+xml");
    expect(res.headers.get("cache-control")).toBe("no-store");
    const xml = await res.text();
    const sp = samlify.ServiceProvider({ metadata: xml });
    const origin = "https://churn.example.com";
    expect(sp.entityMeta.getEntityID()).toBe(`${origin}/v1/saml/${t.tenantId}/metadata`);
    expect(sp.entityMeta.getAssertionConsumerService("post")).toBe(
      `${origin}/console/saml/${t.tenantId}/acs`,
    );
    expect(sp.entityMeta.isWantAssertionsSigned()).toBe(true);
    expect(sp.entityMeta.isAuthnRequestSigned()).toBe(false);
    expect(xml).not.toContain("KeyDescriptor");

    for (const bad of ["not-a-tenant", "tnt_", `${t.tenantId}%3Cx%3E`]) {
      await expectError(await h.request(`/v1/saml/${bad}/metadata`), 404, "NOT_FOUND");
    }
  });

  it("behind https, keeps the flow in a __Secure- cookie the provider's cross-site POST brings back", async () => {
    const t = await h.newTenant();
    expect((await put(t, valid())).status).toBe(200);
    const res = await h.request(`/console/saml/${t.tenantId}/start`);
    expect(res.status).toBe(303);
    expect(new URL(res.headers.get("location")!).origin).toBe("https://example.okta.com");
    const cookie = res.headers.get("set-cookie") ?? "";
    expect(cookie).toMatch(/^__Secure-churn_console_saml=/);
    for (const attribute of ["Path=/console/saml", "HttpOnly", "Secure", "SameSite=None", "Max-Age=600"])
      expect(cookie).toContain(attribute);
  });

  it("keeps settings switched off, and lets the tenant switch them on again", async () => {
    const t = await h.newTenant();
    expect((await put(t, valid({ enabled: false }))).status).toBe(200);
    expect(await (await get(t)).json()).toMatchObject({ enabled: false });
    expect((await put(t, valid())).status).toBe(200);
    expect(await (await get(t)).json()).toMatchObject({ enabled: true });
    expect((await samlAudit(t)).length).toBe(2);
  });
});

describe("/v1/settings/saml: errors", () => {
  it("refuses a certificate that is not one usable RSA certificate with 400 naming it", async () => {
    const t = await h.newTenant();
    const body = current.certificate.trim().split("\n");
    const cases: [unknown, string, string][] = [
      [["not a certificate"], "idpCertificates.0", "exactly one PEM certificate"],
      [
        [current.certificate, `${body.slice(0, 5).join("\n")}\nAAAA${body.slice(5).join("\n")}`],
        "idpCertificates.1",
        "not a valid X.509 certificate",
      ],
      [[`${current.certificate}\n${next.certificate}`], "idpCertificates.0", "exactly one PEM certificate"],
      [[body.slice(1, -1).join("")], "idpCertificates.0", "exactly one PEM certificate"],
      [[ec.certificate], "idpCertificates.0", "must hold an RSA key"],
      [[weak.certificate], "idpCertificates.0", "at least 2048 bits"],
      [[current.certificate, current.certificate], "idpCertificates.1", "listed twice"],
      [[current.privateKey], "idpCertificates.0", "exactly one PEM certificate"],
    ];
    for (const [idpCertificates, path, message] of cases) {
      const error = await expectError(await put(t, valid({ idpCertificates })), 400, "INVALID_REQUEST");
      expect(error.error.issues, `${path}: ${message}`).toContainEqual({
        path,
        message: expect.stringContaining(message),
      });
    }
    // The refusal never echoes a private key that was pasted by mistake.
    const pasted = await put(t, valid({ idpCertificates: [current.privateKey] }));
    expect(await pasted.text()).not.toContain(current.privateKey.split("\n")[1]);
    await expectError(await get(t), 404, "NOT_FOUND");
  });

  it("refuses invalid fields with 400 naming each", async () => {
    const t = await h.newTenant();
    const cases: [unknown, string][] = [
      [valid({ idpSsoUrl: "http://idp.example.com/sso" }), "idpSsoUrl"],
      [valid({ idpSsoUrl: "ftp://idp.example.com/sso" }), "idpSsoUrl"],
      [valid({ idpSsoUrl: "https://user:pw@idp.example.com/sso" }), "idpSsoUrl"],
      [valid({ idpSsoUrl: "not a url" }), "idpSsoUrl"],
      [valid({ idpEntityId: "" }), "idpEntityId"],
      [valid({ idpCertificates: [] }), "idpCertificates"],
      [valid({ idpCertificates: Array(5).fill(current.certificate) }), "idpCertificates"],
      [valid({ allowedEmailDomains: ["not a domain"] }), "allowedEmailDomains.0"],
      [valid({ defaultRole: "owner" }), "defaultRole"],
      [valid({ groupsAttribute: "" }), "groupsAttribute"],
      [valid({ roleMappings: [{ group: "x", role: "emperor" }] }), "roleMappings.0.role"],
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
        JSON.stringify(body).slice(0, 200),
      ).toContain(path);
    }
    await expectError(await put(t, "{not json"), 400, "INVALID_REQUEST");
    await expectError(await get(t), 404, "NOT_FOUND");
  });

  it("switches on one protocol at a time: SAML while OpenID Connect is on is a 409, and the reverse too", async () => {
    const t = await h.newTenant();
    const oidc = {
      issuer: "https://idp.example.com/realms/acme",
      clientId: "churn-console",
      clientSecret: "a-client-secret",
    };
    expect((await put(t, oidc, t.ownerToken, "/v1/settings/sso")).status).toBe(200);
    const error = await expectError(await put(t, valid()), 409, "CONFLICT");
    expect(error.error.message).toContain("PUT /v1/settings/sso with enabled: false");
    // Stored switched off is fine: the tenant can prepare the move.
    expect((await put(t, valid({ enabled: false }))).status).toBe(200);
    expect((await put(t, { ...oidc, enabled: false }, t.ownerToken, "/v1/settings/sso")).status).toBe(200);
    expect((await put(t, valid())).status).toBe(200);
    const reverse = await expectError(await put(t, oidc, t.ownerToken, "/v1/settings/sso"), 409, "CONFLICT");
    expect(reverse.error.message).toContain("PUT /v1/settings/saml with enabled: false");
  });
});

describe("/v1/settings/saml: security", () => {
  it("requires authentication", async () => {
    await expectAuthRequired(h, "GET", "/v1/settings/saml", {}, { control: "owner" });
    await expectAuthRequired(
      h,
      "PUT",
      "/v1/settings/saml",
      () => ({ headers: { "content-type": "application/json" }, body: JSON.stringify(valid()) }),
      { control: "owner" },
    );
  });

  it("lets owners and admins set it, auditors read it, and nobody else either", async () => {
    const t = await h.newTenant();
    expect((await put(t, valid(), await t.tokenFor("admin"))).status).toBe(200);
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

  it("never lets a mapping grant more than its author holds: only owners map to owner", async () => {
    const t = await h.newTenant();
    const admin = await t.tokenFor("admin");
    const error = await expectError(
      await put(t, valid({ roleMappings: [{ group: "founders", role: "owner" }] }), admin),
      403,
      "FORBIDDEN",
    );
    expect(error.error.message).toContain("owner");
    expect((await put(t, valid({ roleMappings: [{ group: "founders", role: "owner" }] }))).status).toBe(200);
    await expectError(await put(t, valid(), admin), 403, "FORBIDDEN");
  });

  it("keeps each tenant's settings to itself", async () => {
    const a = await h.newTenant("A");
    const b = await h.newTenant("B");
    expect((await put(a, valid())).status).toBe(200);
    await expectError(await get(b), 404, "NOT_FOUND");
    expect((await put(b, valid({ idpEntityId: "https://b.example.com/idp" }))).status).toBe(200);
    expect(await (await get(a)).json()).toMatchObject({ idpEntityId: "http://www.okta.com/exk1example" });
    expect(await (await get(b)).json()).toMatchObject({
      idpEntityId: "https://b.example.com/idp",
      acsUrl: `https://churn.example.com/console/saml/${b.tenantId}/acs`,
    });
    expect((await samlAudit(a)).length).toBe(1);
  });
});
