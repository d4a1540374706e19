import { and, eq, isNull } from "drizzle-orm";
import type { BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AuditAction } from "#shared/audit.ts";
import type { User } from "#shared/identity.ts";
import { ssoSettingsRequestSchema } from "#shared/sso.ts";
import { createTenant } from "../../control-plane/src/modules/identity/tenants.ts";
import { putSsoSettings } from "../../control-plane/src/modules/sso/settings.ts";
import { auditLog, personalAccessTokens } from "../../control-plane/src/platform/db/schema/index.ts";
import { screenshot } from "../helpers/browser.ts";
import { type LocalProvider, startOidcProvider, type TestAccount } from "../helpers/oidc-provider.ts";
import { type ConsoleHarness, seriousViolations, startConsoleHarness, waitForText } from "./harness.ts";

/**
 * Single sign-on end to end: the platform as `npm start` runs it, a real OpenID Connect provider
 * (oidc-provider) on a local port with one client and an in-memory account store, and Debian's Chromium
 * going through the provider's login form and back to the console.
 */

let h: ConsoleHarness;
let idp: LocalProvider;

const ACCOUNTS: Record<string, TestAccount> = {
  alice: { email: "alice@example.test", name: "Alice Admin", groups: ["staff", "churn-admins"] },
  bob: { email: "bob@example.test", name: "Bob Outsider", groups: ["marketing"] },
  carol: { email: "carol@example.test", name: "Carol Changes", groups: ["churn-admins"] },
  dave: { email: "dave@example.test", name: "Dave Departs", groups: ["churn-admins"] },
  erin: { email: "erin@example.test", name: "Erin Invited", groups: ["churn-admins"] },
  frank: { email: "frank@example.test", name: "Frank Tamper", groups: ["churn-admins"] },
  gina: { email: "gina@example.test", name: "Gina Scripts", groups: ["churn-analysts"] },
  henry: { email: "henry@elsewhere.test", name: "Henry Elsewhere", groups: ["churn-admins"] },
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

/** Live console sessions of a user, straight from the database. */
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

const allTokens = async () => (await h.platform.deps.db.select().from(personalAccessTokens)).length;

async function auditEntries(action: AuditAction, userId: string) {
  const rows = await h.platform.deps.db
    .select()
    .from(auditLog)
    .where(and(eq(auditLog.tenantId, h.platform.state.tenantId), eq(auditLog.action, action)));
  return rows.filter((r) => r.targets.includes(userId));
}

interface Attempt {
  context: BrowserContext;
  page: Page;
  /** The callback the provider sent the browser to, and the console's status for it. */
  callbackUrl: string;
  callbackStatus: number;
}

/** Opens the sign-in page for the demo tenant and goes through the provider's login form as `account`. */
async function ssoSignIn(account: string, beforeLogin?: (context: BrowserContext) => Promise<void>) {
  const context = await h.browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  await page.goto(`${h.url}/sign-in?tenant=${h.platform.state.tenantId}`);
  await page.getByRole("link", { name: "Sign in with SSO" }).click();
  await page.waitForURL((u) => u.origin === new URL(idp.issuer).origin);
  await beforeLogin?.(context);
  await page.locator('input[name="login"]').fill(account);
  await page.locator('input[name="password"]').fill("any password will do");
  const callback = page.waitForResponse((r) => new URL(r.url()).pathname === "/console/sso/callback");
  await page.locator('button[type="submit"]').click();
  const res = await callback;
  return { context, page, callbackUrl: res.url(), callbackStatus: res.status() } satisfies Attempt;
}

const sessionCookie = async (context: BrowserContext) =>
  (await context.cookies()).find((c) => c.name === "churn_console");

/** The started flow the browser holds (state, nonce, PKCE verifier), and its cookie. */
async function flowCookie(context: BrowserContext) {
  const cookie = (await context.cookies()).find((c) => c.name === "churn_console_sso")!;
  const flow = JSON.parse(Buffer.from(cookie.value, "base64url").toString("utf8")) as Record<string, string>;
  return { cookie, flow };
}

beforeAll(async () => {
  h = await startConsoleHarness();
  idp = await startOidcProvider({
    redirectUri: `${h.platform.state.controlPlaneUrl}/console/sso/callback`,
    accounts: ACCOUNTS,
  });
  const res = await api("/v1/settings/sso", {
    method: "PUT",
    body: JSON.stringify({
      issuer: idp.issuer,
      clientId: idp.clientId,
      clientSecret: idp.clientSecret,
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

describe("console single sign-on through an OpenID Connect provider", () => {
  it("signs a person in a mapped group in as admin, created just in time with their OIDC identity", async () => {
    const { context, page, callbackStatus } = await ssoSignIn("alice");
    expect(callbackStatus).toBe(200);
    await page.waitForURL(/\/console\/overview$/);
    await waitForText(page.locator(".topbar .who"), "Alice Admin");
    expect(await page.locator(".topbar .role").textContent()).toBe("Admin");
    await screenshot(page, "sso-signed-in");

    const alice = (await usersByEmail()).get("alice@example.test");
    expect(alice).toMatchObject({
      role: "admin",
      status: "active",
      name: "Alice Admin",
      oidc: { issuer: idp.issuer, subject: "alice" },
    });
    expect(await sessionCookie(context)).toMatchObject({
      httpOnly: true,
      path: "/console",
      sameSite: "Strict",
    });
    // The flow's cookie went with the callback.
    expect((await context.cookies()).some((c) => c.name === "churn_console_sso")).toBe(false);
    expect(await liveSessions(alice!.id)).toBe(1);
    expect(await auditEntries("user.create", alice!.id)).toHaveLength(1);
    const [signIn] = await auditEntries("user.sso_sign_in", alice!.id);
    expect(JSON.parse(signIn!.details)).toEqual({
      issuer: idp.issuer,
      subject: "alice",
      via: "created",
      role: "admin",
    });

    // Signing out revokes the session token; the provider's own session is not ended (documented).
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.waitForURL(/\/console\/sign-in\?signed-out$/);
    expect(await liveSessions(alice!.id)).toBe(0);
    await context.close();
  });

  it("offers SSO on an accessible sign-in page, and says so when a tenant has none", async () => {
    const context = await h.browser.newContext();
    const page = await context.newPage();
    await page.goto(`${h.url}/sign-in`);
    await page.getByLabel("Tenant id").fill(h.platform.state.tenantId);
    await page.getByRole("button", { name: "Continue with SSO" }).click();
    await page.getByRole("link", { name: "Sign in with SSO" }).waitFor();
    expect(await seriousViolations(page)).toEqual([]);
    await screenshot(page, "sso-sign-in");
    await page.goto(`${h.url}/sign-in?tenant=tnt_00000000000000000000`);
    await waitForText(page.locator("#sso-error"), "Single sign-on is not set up for that tenant");
    const start = await page.goto(`${h.url}/sso/tnt_00000000000000000000/start`);
    expect(start?.status()).toBe(404);
    await context.close();
  });

  it("refuses a person in no mapped group with a clear page, creating no user and no session", async () => {
    const tokensBefore = await allTokens();
    const { context, page, callbackStatus } = await ssoSignIn("bob");
    expect(callbackStatus).toBe(403);
    await waitForText(page.locator("h1"), "Not allowed");
    await waitForText(page.locator("main"), "in no group that grants a role in this tenant");
    await screenshot(page, "sso-refused");
    expect(await sessionCookie(context)).toBeUndefined();
    expect((await usersByEmail()).has("bob@example.test")).toBe(false);
    expect(await allTokens()).toBe(tokensBefore);
    // Nor does the console let the browser in afterwards.
    await page.goto(`${h.url}/overview`);
    expect(new URL(page.url()).pathname).toBe("/console/sign-in");
    await context.close();
  });

  it("refuses a verified email outside the tenant's allowed domains", async () => {
    const { context, page, callbackStatus } = await ssoSignIn("henry");
    expect(callbackStatus).toBe(403);
    await waitForText(page.locator("main"), "not in a domain this tenant accepts");
    expect(await sessionCookie(context)).toBeUndefined();
    expect((await usersByEmail()).has("henry@elsewhere.test")).toBe(false);
    await context.close();
  });

  it("pins the issuer: a provider whose discovery names another issuer, or none at all, is a 503 page", async () => {
    const port = new URL(idp.issuer).port;
    for (const issuer of [`http://localhost:${port}`, "http://127.0.0.1:9"]) {
      const tenant = await createTenant(h.platform.deps.db, {
        name: "Pinned Co",
        ownerEmail: "owner@pinned.test",
        ownerName: "Pinned Owner",
      });
      await putSsoSettings(
        h.platform.deps.db,
        { actor: { type: "user", id: tenant.ownerId }, requestId: null, ip: null, userAgent: null },
        { tenantId: tenant.tenantId, kind: "user", id: tenant.ownerId, role: "owner", scopes: new Set() },
        ssoSettingsRequestSchema.parse({ issuer, clientId: idp.clientId, clientSecret: idp.clientSecret }),
        { origin: h.platform.state.controlPlaneUrl, allowPrivateNetworks: true },
      );
      const context = await h.browser.newContext();
      const page = await context.newPage();
      const res = await page.goto(`${h.url}/sso/${tenant.tenantId}/start`);
      expect(res?.status(), issuer).toBe(503);
      await waitForText(page.locator("main"), "does not match the configured issuer");
      expect(new URL(page.url()).origin).toBe(new URL(h.url).origin);
      await context.close();
    }
  });

  it("follows a change of groups at the provider at the next sign-in, audited", async () => {
    const first = await ssoSignIn("carol");
    expect(first.callbackStatus).toBe(200);
    await first.context.close();
    const carolId = (await usersByEmail()).get("carol@example.test")!.id;

    idp.accounts.get("carol")!.groups = ["churn-analysts"];
    const second = await ssoSignIn("carol");
    expect(second.callbackStatus).toBe(200);
    await second.page.waitForURL(/\/console\/overview$/);
    expect(await second.page.locator(".topbar .role").textContent()).toBe("Analyst");
    expect((await usersByEmail()).get("carol@example.test")).toMatchObject({ id: carolId, role: "analyst" });
    const [change] = await auditEntries("user.update", carolId);
    expect(JSON.parse(change!.details)).toEqual({
      from: { role: "admin" },
      to: { role: "analyst" },
      via: "sso",
    });
    await second.context.close();
  });

  it("links an invited user by verified email instead of creating another", async () => {
    const created = await api("/v1/users", {
      method: "POST",
      body: JSON.stringify({ email: "erin@example.test", role: "analyst" }),
    });
    expect(created.status).toBe(201);
    const { user } = (await created.json()) as { user: User };
    expect(user.status).toBe("invited");

    const { context, callbackStatus } = await ssoSignIn("erin");
    expect(callbackStatus).toBe(200);
    const erin = (await usersByEmail()).get("erin@example.test");
    expect(erin).toMatchObject({
      id: user.id,
      status: "active",
      role: "admin",
      oidc: { issuer: idp.issuer, subject: "erin" },
    });
    const [signIn] = await auditEntries("user.sso_sign_in", user.id);
    expect(JSON.parse(signIn!.details)).toMatchObject({ via: "email" });
    await context.close();
  });

  it("refuses a disabled user through SSO, and their open session ends too", async () => {
    const { context, page, callbackStatus } = await ssoSignIn("dave");
    expect(callbackStatus).toBe(200);
    await page.waitForURL(/\/console\/overview$/);
    const dave = (await usersByEmail()).get("dave@example.test")!;
    expect((await api(`/v1/users/${dave.id}/disable`, { method: "POST" })).status).toBe(200);

    await page.reload();
    expect(new URL(page.url()).pathname).toBe("/console/sign-in");
    await context.close();

    const again = await ssoSignIn("dave");
    expect(again.callbackStatus).toBe(403);
    await waitForText(again.page.locator("main"), "This account is disabled");
    expect(await sessionCookie(again.context)).toBeUndefined();
    expect(await liveSessions(dave.id)).toBe(0);
    await again.context.close();
  });

  it("lets a person who signed in through SSO mint a personal access token for the API, and revoke it", async () => {
    const { context, page, callbackStatus } = await ssoSignIn("gina");
    expect(callbackStatus).toBe(200);
    await page.waitForURL(/\/console\/overview$/);
    await page
      .getByRole("navigation", { name: "Sections" })
      .getByRole("link", { name: "Access tokens" })
      .click();
    await page.getByLabel("Name").fill("laptop CLI");
    await page.getByLabel("Expires after (days)").fill("7");
    await page.getByRole("button", { name: "Create token" }).click();
    const token = await waitForText(page.getByTestId("new-token"), /^churn_pat_/);
    expect(await seriousViolations(page)).toEqual([]);
    await screenshot(page, "sso-token-created");

    const mine = await fetch(`${h.platform.state.controlPlaneUrl}/v1/users/me/tokens`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(mine.status).toBe(200);
    const { tokens } = (await mine.json()) as { tokens: { id: string; name: string }[] };
    expect(tokens.map((t) => t.name).sort()).toEqual(["Console session", "laptop CLI"]);
    // The analyst's token carries the analyst's permissions, no more.
    expect(
      (
        await fetch(`${h.platform.state.controlPlaneUrl}/v1/users`, {
          headers: { authorization: `Bearer ${token}` },
        })
      ).status,
    ).toBe(403);

    const cli = tokens.find((t) => t.name === "laptop CLI")!;
    await page.goto(`${h.url}/tokens`);
    await page.getByRole("button", { name: `Revoke laptop CLI (${cli.id})` }).click();
    await waitForText(page.locator(".flash"), "Token revoked");
    const after = await fetch(`${h.platform.state.controlPlaneUrl}/v1/users/me/tokens`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(after.status).toBe(401);

    // This session's own row signs out.
    const gina = (await usersByEmail()).get("gina@example.test")!;
    expect(await liveSessions(gina.id)).toBe(1);
    await page.getByRole("button", { name: "Sign out of this session" }).click();
    await page.waitForURL(/\/console\/sign-in\?signed-out$/);
    expect(await liveSessions(gina.id)).toBe(0);
    await context.close();
  });

  it("refuses forged, replayed and tampered callbacks with 4xx and starts no session", async () => {
    const tokensBefore = await allTokens();
    const context = await h.browser.newContext();
    const page = await context.newPage();

    // A callback this browser never started.
    let res = await page.goto(`${h.url}/sso/callback?code=forged&state=forged`);
    expect(res?.status()).toBe(400);
    await waitForText(page.locator("main"), "was not started in this browser");

    // A started flow, then a callback with another state.
    await page.goto(`${h.url}/sso/${h.platform.state.tenantId}/start`);
    await page.waitForURL((u) => u.origin === new URL(idp.issuer).origin);
    res = await page.goto(`${h.url}/sso/callback?code=forged&state=not-the-state-this-browser-holds`);
    expect(res?.status()).toBe(400);
    await context.close();

    // A completed sign-in's callback, replayed: its flow is gone, and the code was spent.
    const done = await ssoSignIn("frank");
    expect(done.callbackStatus).toBe(200);
    await done.page.waitForURL(/\/console\/overview$/);
    const frankId = (await usersByEmail()).get("frank@example.test")!.id;
    const sessionsAfterSignIn = await liveSessions(frankId);
    // From a fresh tab of the same browser: the finished page may still be moving on to the console, and a
    // navigation racing it would answer nothing.
    const replay = await done.context.newPage();
    res = await replay.goto(done.callbackUrl);
    expect(res?.status()).toBe(400);
    expect(await liveSessions(frankId)).toBe(sessionsAfterSignIn);
    await done.context.close();
    const tokensAfterFrank = await allTokens();
    expect(tokensAfterFrank).toBe(tokensBefore + 1);

    // The flow's nonce or PKCE verifier changed under the browser: the ID token's nonce, or the provider's
    // PKCE check, no longer matches.
    for (const field of ["nonce", "codeVerifier"] as const) {
      const tampered = await ssoSignIn("frank", async (ctx) => {
        const { cookie, flow } = await flowCookie(ctx);
        flow[field] = `${flow[field]!.slice(0, -8)}tampered`;
        await ctx.addCookies([{ ...cookie, value: Buffer.from(JSON.stringify(flow)).toString("base64url") }]);
      });
      expect(tampered.callbackStatus, field).toBe(401);
      await waitForText(tampered.page.locator("main"), "could not be verified");
      expect(await sessionCookie(tampered.context), field).toBeUndefined();
      await tampered.context.close();
    }

    // The provider's refusal, brought back with the right state, is shown as such.
    const refused = await h.browser.newContext();
    const refusedPage = await refused.newPage();
    await refusedPage.goto(`${h.url}/sso/${h.platform.state.tenantId}/start`);
    await refusedPage.waitForURL((u) => u.origin === new URL(idp.issuer).origin);
    const { state } = (await flowCookie(refused)).flow;
    const query = new URLSearchParams({ error: "access_denied", state: state!, iss: idp.issuer });
    res = await refusedPage.goto(`${h.url}/sso/callback?${query}`);
    expect(res?.status()).toBe(401);
    await waitForText(refusedPage.locator("main"), "did not sign you in (access_denied");
    await refused.close();

    expect(await allTokens()).toBe(tokensAfterFrank);
  });
});
