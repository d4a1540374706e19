import { and, eq, isNull } from "drizzle-orm";
import type { BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { User } from "#shared/identity.ts";
import { personalAccessTokens } from "../../control-plane/src/platform/db/schema/index.ts";
import { screenshot } from "../helpers/browser.ts";
import { type SamlIdpServer, type SamlTestUser, startSamlIdpServer } from "../helpers/saml-idp.ts";
import { type ConsoleHarness, seriousViolations, startConsoleHarness, waitForText } from "./harness.ts";

/**
 * SAML single sign-on end to end: the platform as `npm start` runs it, a SAML identity provider on a local
 * port (samlify's IdP behind a small HTTP server with a login form, signing with a key made for the run),
 * and Debian's Chromium going from the console to the provider (HTTP-Redirect), through its login form,
 * and back with the signed response its page posts to the assertion consumer service (HTTP-POST).
 */

let h: ConsoleHarness;
let idp: SamlIdpServer;

const USERS: Record<string, SamlTestUser> = {
  alice: {
    nameId: "alice",
    email: "alice@example.test",
    name: "Alice Admin",
    groups: ["staff", "churn-admins"],
  },
  bob: { nameId: "bob", email: "bob@example.test", name: "Bob Outsider", groups: ["marketing"] },
  carol: { nameId: "carol", email: "carol@example.test", name: "Carol Analyst", groups: ["churn-analysts"] },
};

const api = (path: string, init: RequestInit = {}) =>
  fetch(`${h.platform.state.controlPlaneUrl}${path}`, {
    ...init,
    headers: {
      authorization: `Bearer ${h.platform.state.ownerToken}`,
      "content-type": "application/json",
      ...init.headers,
    },
  });

async function usersByEmail(): Promise<Map<string, User>> {
  const res = await api("/v1/users");
  expect(res.status).toBe(200);
  const { users } = (await res.json()) as { users: User[] };
  return new Map(users.map((u) => [u.email, u]));
}

async function liveSessions(userId: string): Promise<number> {
  const rows = await h.platform.deps.db
    .select()
    .from(personalAccessTokens)
    .where(
      and(
        eq(personalAccessTokens.userId, userId),
        eq(personalAccessTokens.name, "Console session"),
        isNull(personalAccessTokens.revokedAt),
      ),
    );
  return rows.length;
}

interface Attempt {
  context: BrowserContext;
  page: Page;
  /** The assertion consumer service's status, and the form the provider's page posted to it. */
  acsStatus: number;
  postedForm: string;
}

/** From the console's sign-in page for the demo tenant, through the provider's login form as `username`. */
async function samlSignIn(username: string): Promise<Attempt> {
  const context = await h.browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  await page.goto(`${h.url}/sign-in?tenant=${h.platform.state.tenantId}`);
  await page.getByRole("link", { name: "Sign in with SSO" }).click();
  await page.waitForURL((u) => u.origin === new URL(idp.ssoUrl).origin);
  await page.getByLabel("Username").fill(username);
  const acs = `/console/saml/${h.platform.state.tenantId}/acs`;
  const posted = page.waitForRequest((r) => new URL(r.url()).pathname === acs && r.method() === "POST");
  const answered = page.waitForResponse((r) => new URL(r.url()).pathname === acs);
  await page.getByRole("button", { name: "Log in" }).click();
  const [request, response] = await Promise.all([posted, answered]);
  return { context, page, acsStatus: response.status(), postedForm: request.postData() ?? "" };
}

const cookieNamed = async (context: BrowserContext, name: string) =>
  (await context.cookies()).find((c) => c.name === name);

beforeAll(async () => {
  h = await startConsoleHarness();
  idp = await startSamlIdpServer({ users: USERS });
  const res = await api("/v1/settings/saml", {
    method: "PUT",
    body: JSON.stringify({
      idpEntityId: idp.entityId,
      idpSsoUrl: idp.ssoUrl,
      idpCertificates: [idp.keys.certificate],
      allowedEmailDomains: ["example.test"],
      roleMappings: [
        { group: "churn-admins", role: "admin" },
        { group: "churn-analysts", role: "analyst" },
      ],
    }),
  });
  expect(res.status, await res.clone().text()).toBe(200);
});

afterAll(async () => {
  await idp?.close();
  await h?.stop();
});

describe("console single sign-on through a SAML identity provider", () => {
  it("signs a person in a mapped group in as admin, created just in time, and signing out ends the session", async () => {
    const { context, page, acsStatus, postedForm } = await samlSignIn("alice");
    expect(acsStatus).toBe(200);
    expect(new URLSearchParams(postedForm).get("SAMLResponse")).toBeTruthy();
    await page.waitForURL(/\/console\/overview$/);
    await waitForText(page.locator(".topbar .who"), "Alice Admin");
    expect(await page.locator(".topbar .role").textContent()).toBe("Admin");
    expect(await seriousViolations(page)).toEqual([]);
    await screenshot(page, "saml-signed-in");

    const alice = (await usersByEmail()).get("alice@example.test");
    expect(alice).toMatchObject({
      role: "admin",
      status: "active",
      name: "Alice Admin",
      oidc: { issuer: idp.entityId, subject: "alice" },
    });
    expect(await cookieNamed(context, "churn_console")).toMatchObject({
      httpOnly: true,
      path: "/console",
      sameSite: "Strict",
    });
    // The flow's cookie went with the response.
    expect(await cookieNamed(context, "churn_console_saml")).toBeUndefined();
    expect(await liveSessions(alice!.id)).toBe(1);

    await page.getByRole("button", { name: "Sign out" }).click();
    await page.waitForURL(/\/console\/sign-in\?signed-out$/);
    expect(await liveSessions(alice!.id)).toBe(0);
    await page.goto(`${h.url}/overview`);
    expect(new URL(page.url()).pathname).toBe("/console/sign-in");
    await context.close();
  });

  it("keeps the flow cookie to the SAML path, httpOnly, until the provider answers", async () => {
    const context = await h.browser.newContext();
    const page = await context.newPage();
    await page.goto(`${h.url}/saml/${h.platform.state.tenantId}/start`);
    await page.waitForURL((u) => u.origin === new URL(idp.ssoUrl).origin);
    expect(await cookieNamed(context, "churn_console_saml")).toMatchObject({
      httpOnly: true,
      path: "/console/saml",
      // Plain http here: SameSite=None needs Secure, so the cookie is Lax (the provider is same-site).
      sameSite: "Lax",
    });
    await context.close();
  });

  it("refuses a person in no mapped group with a clear page, creating no user and no session", async () => {
    const { context, page, acsStatus } = await samlSignIn("bob");
    expect(acsStatus).toBe(403);
    await waitForText(page.locator("h1"), "Not allowed");
    await waitForText(page.locator("main"), "in no group that grants a role in this tenant");
    await screenshot(page, "saml-refused");
    expect(await cookieNamed(context, "churn_console")).toBeUndefined();
    expect((await usersByEmail()).has("bob@example.test")).toBe(false);
    await context.close();
  });

  it("refuses the same signed response posted again, from the same browser", async () => {
    const done = await samlSignIn("carol");
    expect(done.acsStatus).toBe(200);
    await done.page.waitForURL(/\/console\/overview$/);
    const carol = (await usersByEmail()).get("carol@example.test")!;
    expect(carol.role).toBe("analyst");
    const sessions = await liveSessions(carol.id);

    // The browser posts what the provider's page posted once more, with its own cookies: its flow is spent.
    // (A replay that brings the flow cookie back too is refused by the used-id record: saml_sign_in.test.ts.)
    const form = new URLSearchParams(done.postedForm);
    const res = await done.context.request.post(`${h.url}/saml/${h.platform.state.tenantId}/acs`, {
      form: Object.fromEntries(form),
      headers: { accept: "text/html" },
    });
    expect(res.status()).toBe(400);
    expect(await res.text()).toContain("was not started in this browser");
    expect(await liveSessions(carol.id)).toBe(sessions);
    await done.context.close();
  });
});
