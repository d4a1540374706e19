import { and, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { User } from "#shared/identity.ts";
import { MAX_CONCURRENT_VERIFICATIONS } from "../../control-plane/src/modules/sso/saml/service-provider.ts";
import { auditLog, samlUsedIds, users } from "../../control-plane/src/platform/db/schema/index.ts";
import {
  type ControlPlaneHarness,
  expectError,
  startControlPlane,
  type TestTenant,
} from "../helpers/control-plane-harness.ts";
import {
  createSamlIdp,
  decodeResponse,
  encodeResponse,
  type SamlIdp,
  type SamlTestUser,
  selfSignedCertificate,
  type TestKeyPair,
} from "../helpers/saml-idp.ts";

/**
 * The SAML assertion consumer service against a real samlify identity provider that signs with a key made
 * for the run: a genuine response signs the person in, and each hostile one (unsigned, signed by another
 * key or with SHA-1, for another audience or destination, expired, answering another request, replayed,
 * wrapped, not SAML) is
 * refused before anyone is found or created. test/console/saml.test.ts drives the same flow in Chromium.
 */

let h: ControlPlaneHarness;
let keys: TestKeyPair;
let impostor: TestKeyPair;
beforeAll(async () => {
  h = await startControlPlane();
  [keys, impostor] = await Promise.all([
    selfSignedCertificate("Churn Test IdP"),
    selfSignedCertificate("Churn Test IdP"),
  ]);
});
afterAll(() => h?.close());

const IDP_ENTITY_ID = "https://idp.example.test/saml/metadata";
// With a query of its own, as some providers' single sign-on URLs have: the request is added to it.
const IDP_SSO_URL = "https://idp.example.test/saml/sso?idpid=C0ffee42";

let people = 0;
const person = (groups: string[], domain = "example.test"): SamlTestUser => {
  const n = ++people;
  return { nameId: `person-${n}`, email: `person-${n}@${domain}`, name: `Person ${n}`, groups };
};

interface SamlTenant {
  t: TestTenant;
  idp: SamlIdp;
}

async function samlTenant(settings: Record<string, unknown> = {}): Promise<SamlTenant> {
  const t = await h.newTenant();
  const idp = await createSamlIdp({
    entityId: IDP_ENTITY_ID,
    ssoUrl: IDP_SSO_URL,
    keys,
    fetchMetadata: (url) => h.request(url),
  });
  const res = await h.request("/v1/settings/saml", {
    method: "PUT",
    token: t.ownerToken,
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      idpEntityId: IDP_ENTITY_ID,
      idpSsoUrl: IDP_SSO_URL,
      idpCertificates: [keys.certificate],
      allowedEmailDomains: ["example.test"],
      roleMappings: [
        { group: "churn-admins", role: "admin" },
        { group: "churn-analysts", role: "analyst" },
      ],
      ...settings,
    }),
  });
  expect(res.status, await res.clone().text()).toBe(200);
  return { t, idp };
}

/** A started sign-in: where the browser is sent, and the flow cookie it keeps. */
async function start(t: TestTenant): Promise<{ location: string; cookie: string }> {
  const res = await h.request(`/console/saml/${t.tenantId}/start`);
  expect(res.status, await res.clone().text()).toBe(303);
  const setCookie = res.headers.get("set-cookie") ?? "";
  expect(setCookie).toMatch(/^churn_console_saml=[^;]+;.*Path=\/console\/saml/);
  expect(setCookie).toMatch(/HttpOnly/);
  return { location: res.headers.get("location")!, cookie: setCookie.split(";")[0]! };
}

function post(t: TestTenant, cookie: string | undefined, samlResponse: string, accept = "application/json") {
  return h.request(`/console/saml/${t.tenantId}/acs`, {
    method: "POST",
    headers: {
      "content-type": "application/x-www-form-urlencoded",
      accept,
      origin: "https://idp.example.test",
      ...(cookie ? { cookie } : {}),
    },
    body: new URLSearchParams({ SAMLResponse: samlResponse, RelayState: "" }).toString(),
  });
}

async function tenantUsers(t: TestTenant): Promise<User[]> {
  const res = await h.request("/v1/users", { token: t.ownerToken });
  return ((await res.json()) as { users: User[] }).users;
}

const userCount = async (t: TestTenant) =>
  (await h.deps.db.select().from(users).where(eq(users.tenantId, t.tenantId))).length;

/** A started sign-in answered by the IdP for `who`, with the response bent as `overrides` says. */
async function attempt(st: SamlTenant, who: SamlTestUser, overrides: Parameters<SamlIdp["answer"]>[2] = {}) {
  const { location, cookie } = await start(st.t);
  const answer = await st.idp.answer(location, who, overrides);
  return { cookie, ...answer };
}

describe("SAML sign-in: happy", () => {
  it("signs a person in a mapped group in as admin, created just in time and linked by (entity id, NameID)", async () => {
    const st = await samlTenant();
    const alice = person(["staff", "churn-admins"]);
    const { location, cookie } = await start(st.t);
    const redirect = new URL(location);
    expect(redirect.origin + redirect.pathname).toBe("https://idp.example.test/saml/sso");
    expect(redirect.searchParams.get("idpid")).toBe("C0ffee42");
    expect(redirect.searchParams.get("SAMLRequest")).toBeTruthy();

    const answer = await st.idp.answer(location, alice);
    expect(answer.acsUrl).toBe(`http://localhost/console/saml/${st.t.tenantId}/acs`);
    const res = await post(st.t, cookie, answer.samlResponse, "text/html");
    expect(res.status, await res.clone().text()).toBe(200);
    expect(res.headers.get("refresh")).toBe("0; url=/console/overview");
    const cookies = res.headers.getSetCookie();
    expect(cookies.some((c) => /^churn_console=churn_pat_/.test(c) && /SameSite=Strict/.test(c))).toBe(true);
    // The flow is gone with the first answer.
    expect(cookies.some((c) => /^churn_console_saml=;/.test(c))).toBe(true);

    const created = (await tenantUsers(st.t)).find((u) => u.email === alice.email);
    expect(created).toMatchObject({
      role: "admin",
      status: "active",
      name: alice.name,
      oidc: { issuer: IDP_ENTITY_ID, subject: alice.nameId },
    });
    const [signIn] = (
      await h.deps.db
        .select()
        .from(auditLog)
        .where(and(eq(auditLog.tenantId, st.t.tenantId), eq(auditLog.action, "user.sso_sign_in")))
    ).filter((r) => r.targets.includes(created!.id));
    expect(JSON.parse(signIn!.details)).toEqual({
      issuer: IDP_ENTITY_ID,
      subject: alice.nameId,
      via: "created",
      role: "admin",
    });
  });

  it("accepts a signed Response as well as a signed Assertion, and both, and finds the same user again", async () => {
    const st = await samlTenant();
    const bob = person(["churn-analysts"]);
    for (const signing of ["response", "both", "assertion"] as const) {
      const a = await attempt(st, bob, { signing });
      const res = await post(st.t, a.cookie, a.samlResponse);
      expect(res.status, `${signing}: ${await res.clone().text()}`).toBe(200);
    }
    expect((await tenantUsers(st.t)).filter((u) => u.email === bob.email)).toHaveLength(1);
  });

  it("tolerates a minute of clock difference with the provider", async () => {
    const st = await samlTenant();
    const a = await attempt(st, person(["churn-admins"]), { shiftMs: 30_000 });
    expect((await post(st.t, a.cookie, a.samlResponse)).status).toBe(200);
  });

  it("takes the email from a NameID that is an address when the email attribute is absent", async () => {
    const st = await samlTenant();
    const who: SamlTestUser = { nameId: "Nia@Example.test", groups: ["churn-analysts"] };
    const a = await attempt(st, who);
    expect((await post(st.t, a.cookie, a.samlResponse)).status).toBe(200);
    expect((await tenantUsers(st.t)).find((u) => u.email === "nia@example.test")).toMatchObject({
      role: "analyst",
      oidc: { issuer: IDP_ENTITY_ID, subject: "Nia@Example.test" },
    });
  });
});

describe("SAML sign-in: hostile responses are refused, and nobody is signed in or created", () => {
  /** Each case, and the check that must catch it (samlify's code, as the operator's log shows it). */
  const refusals: [string, () => Parameters<SamlIdp["answer"]>[2], RegExp][] = [
    [
      "signed by another key",
      () => ({ signWith: impostor }),
      /^(ERROR_UNMATCH_CERTIFICATE_DECLARATION_IN_METADATA|FAILED_TO_VERIFY_SIGNATURE)/,
    ],
    [
      "signed with RSA-SHA1",
      () => ({ signatureAlgorithm: "http://www.w3.org/2000/09/xmldsig#rsa-sha1" }),
      /^ERR_SIGNATURE_ALGORITHM_NOT_ALLOWED/,
    ],
    [
      "for another audience",
      () => ({ audience: "https://other-sp.example.test/metadata" }),
      /^ERR_AUDIENCE_MISMATCH/,
    ],
    [
      "for another tenant's assertion consumer service",
      () => ({
        destination: "http://localhost/console/saml/tnt_someoneelse0000000000/acs",
        recipient: "http://localhost/console/saml/tnt_someoneelse0000000000/acs",
      }),
      /^ERR_RECIPIENT_MISMATCH/,
    ],
    [
      "from another issuer",
      () => ({ issuer: "https://evil.example.test/saml/metadata" }),
      /^ERR_UNMATCH_ISSUER/,
    ],
    ["expired", () => ({ shiftMs: -10 * 60_000, lifetimeMs: 5 * 60_000 }), /^ERR_SUBJECT_UNCONFIRMED/],
    ["not yet valid", () => ({ shiftMs: 5 * 60_000 }), /^ERR_SUBJECT_UNCONFIRMED/],
  ];
  for (const [what, overrides, reason] of refusals) {
    it(`${what}: 401`, async () => {
      const st = await samlTenant();
      const before = await userCount(st.t);
      const a = await attempt(st, person(["churn-admins"]), overrides());
      const error = await expectError(await post(st.t, a.cookie, a.samlResponse), 401, "UNAUTHORIZED");
      expect(error.error.message).toContain("could not be verified");
      expect(await userCount(st.t)).toBe(before);
      expect(refusalReasons(st.t)).toEqual([expect.stringMatching(reason)]);
    });
  }

  it("unsigned (the signature stripped from a genuine response): 401", async () => {
    const st = await samlTenant();
    const a = await attempt(st, person(["churn-admins"]));
    const stripped = decodeResponse(a.samlResponse).replace(/<ds:Signature[\s\S]*?<\/ds:Signature>/g, "");
    expect(stripped).not.toContain("Signature");
    await expectError(await post(st.t, a.cookie, encodeResponse(stripped)), 401, "UNAUTHORIZED");
    expect(await userCount(st.t)).toBe(1);
    expect(refusalReasons(st.t)).toEqual(["FAILED_TO_VERIFY_SIGNATURE"]);
  });

  it("not SAML (schema-invalid, though signed by the provider's key): 401 before anything in it is read", async () => {
    const st = await samlTenant();
    const a = await attempt(st, person(["churn-admins"]), {
      rewrite: (xml) => xml.replace("<saml:Subject>", '<saml:Subject><saml:Unexpected Role="owner"/>'),
    });
    await expectError(await post(st.t, a.cookie, a.samlResponse), 401, "UNAUTHORIZED");
    expect(refusalReasons(st.t)).toEqual([expect.stringMatching(/^ERR_SCHEMA_VALIDATION: .*Unexpected/)]);
    expect(await userCount(st.t)).toBe(1);
  });

  it("tampered after signing (a group added): 401", async () => {
    const st = await samlTenant();
    const a = await attempt(st, person(["churn-analysts"]));
    const tampered = decodeResponse(a.samlResponse).replace(">churn-analysts<", ">churn-admins<");
    await expectError(await post(st.t, a.cookie, encodeResponse(tampered)), 401, "UNAUTHORIZED");
    expect(refusalReasons(st.t)).toEqual(["FAILED_TO_VERIFY_SIGNATURE"]);
  });

  it("a wrapped assertion (signature wrapping) is refused: 401, and its identity never exists", async () => {
    const st = await samlTenant({
      roleMappings: [
        { group: "churn-analysts", role: "analyst" },
        { group: "churn-owners", role: "owner" },
      ],
    });
    const victim = person(["churn-analysts"]);
    const wrappings: ((signed: string, injected: string) => string)[] = [
      (signed, injected) => injected + signed,
      (signed, injected) => signed + injected,
      // The injected assertion carrying the genuine signature, the signed one hidden inside it.
      (signed, injected) =>
        injected.replace(
          "</saml:Issuer>",
          `</saml:Issuer>${/<ds:Signature[\s\S]*?<\/ds:Signature>/.exec(signed)![0]}`,
        ),
    ];
    for (const wrap of wrappings) {
      // Each wrapping answers its own started sign-in, so only the wrapping decides the outcome.
      const a = await attempt(st, victim);
      const xml = decodeResponse(a.samlResponse);
      const signed = /<saml:Assertion[\s\S]*<\/saml:Assertion>/.exec(xml)![0];
      const injected = signed
        .replace(/<ds:Signature[\s\S]*?<\/ds:Signature>/, "")
        .replace(/ ID="[^"]+"/, ' ID="_injected"')
        .replaceAll(victim.nameId, "attacker")
        .replaceAll(victim.email!, "attacker@example.test")
        .replace(">churn-analysts<", ">churn-owners<");
      const res = await post(st.t, a.cookie, encodeResponse(xml.replace(signed, wrap(signed, injected))));
      await expectError(res, 401, "UNAUTHORIZED");
    }
    expect(refusalReasons(st.t)).toEqual([
      expect.stringMatching(/^ERR_ASSERTION_COUNT/),
      expect.stringMatching(/^ERR_ASSERTION_COUNT/),
      "FAILED_TO_VERIFY_SIGNATURE",
    ]);
    const everyone = await tenantUsers(st.t);
    expect(everyone.some((u) => u.email === "attacker@example.test" || u.oidc?.subject === "attacker")).toBe(
      false,
    );
    expect(everyone.filter((u) => u.role === "owner")).toHaveLength(1);
    expect(everyone.filter((u) => u.email === victim.email).every((u) => u.role === "analyst")).toBe(true);
  });

  it("answering another request (InResponseTo mismatch): 400", async () => {
    const st = await samlTenant();
    const a = await attempt(st, person(["churn-admins"]), {
      inResponseTo: "_not-the-request-this-browser-made",
    });
    const error = await expectError(await post(st.t, a.cookie, a.samlResponse), 400, "INVALID_REQUEST");
    expect(error.error.message).toContain("was not started in this browser");
    expect(refusalReasons(st.t)).toEqual(["ERR_INRESPONSETO_MISMATCH"]);
  });

  it("a response from another browser's sign-in (its flow cookie missing or another's): 400", async () => {
    const st = await samlTenant();
    const mine = await attempt(st, person(["churn-admins"]));
    await expectError(await post(st.t, undefined, mine.samlResponse), 400, "INVALID_REQUEST");
    const theirs = await start(st.t);
    await expectError(await post(st.t, theirs.cookie, mine.samlResponse), 400, "INVALID_REQUEST");
    // Another tenant's flow cookie does not open this tenant's service.
    const other = await samlTenant();
    const otherFlow = await start(other.t);
    await expectError(await post(st.t, otherFlow.cookie, mine.samlResponse), 400, "INVALID_REQUEST");
    expect(await userCount(st.t)).toBe(1);
  });

  it("a consumed response replayed (with its flow cookie sent again), or a second answer to the same request: 400", async () => {
    const st = await samlTenant();
    const who = person(["churn-admins"]);
    const a = await attempt(st, who);
    expect((await post(st.t, a.cookie, a.samlResponse)).status).toBe(200);
    const sessions = await userSessions(st.t, who);
    const error = await expectError(await post(st.t, a.cookie, a.samlResponse), 400, "INVALID_REQUEST");
    expect(error.error.message).toContain("already completed");

    // The IdP answering the same request again with a new assertion: the request was used up.
    const answeredTwice = await st.idp.answer(
      (await h.request(`/console/saml/${st.t.tenantId}/start`)).headers.get("location")!,
      who,
      { inResponseTo: a.requestId },
    );
    await expectError(await post(st.t, a.cookie, answeredTwice.samlResponse), 400, "INVALID_REQUEST");
    expect(await userSessions(st.t, who)).toBe(sessions);
    expect(refusalReasons(st.t)).toEqual(["ERR_REPLAYED_ASSERTION", "ERR_REQUEST_ALREADY_ANSWERED"]);
    const used = await h.deps.db.select().from(samlUsedIds).where(eq(samlUsedIds.tenantId, st.t.tenantId));
    expect(used.length).toBeGreaterThanOrEqual(2);
  });

  it("the provider's refusal (a Responder status) is shown as such: 401", async () => {
    const st = await samlTenant();
    const a = await attempt(st, person(["churn-admins"]), {
      statusCode: "urn:oasis:names:tc:SAML:2.0:status:Responder",
    });
    const error = await expectError(await post(st.t, a.cookie, a.samlResponse), 401, "UNAUTHORIZED");
    expect(error.error.message).toBe("The identity provider did not sign you in (Responder)");
  });
});

/** What the operator's log says about each refused response of the tenant. */
const refusalReasons = (t: TestTenant) =>
  h.logs
    .filter((l) => l["event"] === "saml.response_refused" && l["tenantId"] === t.tenantId)
    .map((l) => String(l["reason"]));

async function userSessions(t: TestTenant, who: SamlTestUser): Promise<number> {
  const user = (await tenantUsers(t)).find((u) => u.email === who.email);
  if (!user) return 0;
  const rows = await h.deps.db
    .select()
    .from(auditLog)
    .where(and(eq(auditLog.tenantId, t.tenantId), eq(auditLog.action, "pat.create")));
  return rows.filter((r) => r.targets.includes(user.id)).length;
}

describe("SAML sign-in: the tenant's rules, as for OpenID Connect", () => {
  it("refuses an email outside the allowed domains: 403, no user", async () => {
    const st = await samlTenant();
    const a = await attempt(st, person(["churn-admins"], "elsewhere.test"));
    const error = await expectError(await post(st.t, a.cookie, a.samlResponse), 403, "FORBIDDEN");
    expect(error.error.message).toContain("not in a domain this tenant accepts");
    expect(await userCount(st.t)).toBe(1);
  });

  it("refuses a person in no mapped group: 403 with what to ask for, as a page for a browser", async () => {
    const st = await samlTenant();
    const a = await attempt(st, person(["marketing"]));
    const res = await post(st.t, a.cookie, a.samlResponse, "text/html");
    expect(res.status).toBe(403);
    const html = await res.text();
    expect(html).toContain("in no group that grants a role in this tenant");
    expect(res.headers.getSetCookie().some((c) => c.startsWith("churn_console="))).toBe(false);
    expect(await userCount(st.t)).toBe(1);
    expect(h.logs).toContainEqual(
      expect.objectContaining({ event: "sso.sign_in_refused", tenantId: st.t.tenantId, reason: "no_role" }),
    );
  });

  it("gives the default role to a person in no mapped group when the tenant set one", async () => {
    const st = await samlTenant({ defaultRole: "auditor" });
    const who = person(["marketing"]);
    const a = await attempt(st, who);
    expect((await post(st.t, a.cookie, a.samlResponse)).status).toBe(200);
    expect((await tenantUsers(st.t)).find((u) => u.email === who.email)?.role).toBe("auditor");
  });

  it("refuses every sign-in once SAML is switched off: 404 at the start", async () => {
    const st = await samlTenant({ enabled: false });
    await expectError(
      await h.request(`/console/saml/${st.t.tenantId}/start`, { headers: { accept: "application/json" } }),
      404,
      "NOT_FOUND",
    );
  });
});

describe("SAML sign-in: the assertion consumer service's own limits", () => {
  it("needs a form post with a SAMLResponse, within its body limit", async () => {
    const st = await samlTenant();
    const { cookie } = await start(st.t);
    const base = { method: "POST", headers: { cookie, accept: "application/json" } };
    await expectError(
      await h.request(`/console/saml/${st.t.tenantId}/acs`, {
        ...base,
        headers: { ...base.headers, "content-type": "application/json" },
        body: "{}",
      }),
      415,
      "UNSUPPORTED_MEDIA_TYPE",
    );
    await expectError(
      await h.request(`/console/saml/${st.t.tenantId}/acs`, {
        ...base,
        headers: { ...base.headers, "content-type": "application/x-www-form-urlencoded" },
        body: `SAMLResponse=${"A".repeat(200 * 1024)}`,
      }),
      413,
      "PAYLOAD_TOO_LARGE",
    );
    const fresh = await start(st.t);
    await expectError(
      await h.request(`/console/saml/${st.t.tenantId}/acs`, {
        method: "POST",
        headers: {
          cookie: fresh.cookie,
          accept: "application/json",
          "content-type": "application/x-www-form-urlencoded",
        },
        body: "RelayState=x",
      }),
      400,
      "INVALID_REQUEST",
    );
  });

  it(`verifies at most ${MAX_CONCURRENT_VERIFICATIONS} responses at once in a process; more are told to retry (429)`, async () => {
    const st = await samlTenant();
    const attempts = await Promise.all(
      Array.from({ length: MAX_CONCURRENT_VERIFICATIONS * 3 }, () => attempt(st, person(["churn-admins"]))),
    );
    const responses = await Promise.all(attempts.map((a) => post(st.t, a.cookie, a.samlResponse)));
    const statuses = responses.map((r) => r.status);
    expect(statuses.filter((s) => s === 429).length, statuses.join(",")).toBeGreaterThan(0);
    expect(
      statuses.every((s) => s === 200 || s === 429),
      statuses.join(","),
    ).toBe(true);
    expect(responses.find((r) => r.status === 429)?.headers.get("retry-after")).toBe("1");
  });
});
