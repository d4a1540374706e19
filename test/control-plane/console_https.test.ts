import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ControlPlaneHarness, startControlPlane } from "../helpers/control-plane-harness.ts";

/**
 * The console behind a TLS-terminating proxy: the public URL is https, so the session cookie must be one
 * a browser accepts there (Secure, host-only, scoped to /console), and a failed sign-in leaves no token.
 */
const ORIGIN = "https://churn.example";

let h: ControlPlaneHarness;

beforeAll(async () => {
  h = await startControlPlane({ PUBLIC_URL: ORIGIN });
});
afterAll(() => h.close());

/** The sign-in form's nonce and the pre-session cookie that must come back with it. */
async function signInForm(): Promise<{ nonce: string; cookie: string }> {
  const res = await h.app.request(`${ORIGIN}/console/sign-in`);
  expect(res.status).toBe(200);
  const nonce = /name="_nonce" value="([^"]+)"/.exec(await res.text())![1]!;
  const cookie = res.headers.get("set-cookie")!.split(";")[0]!;
  return { nonce, cookie };
}

async function signIn(token: string): Promise<Response> {
  const { nonce, cookie } = await signInForm();
  return h.app.request(`${ORIGIN}/console/sign-in`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", cookie, origin: ORIGIN },
    body: new URLSearchParams({ token, _nonce: nonce }).toString(),
  });
}

async function consoleSessions(ownerToken: string): Promise<number> {
  const res = await h.request("/v1/users/me/tokens", { token: ownerToken });
  const { tokens } = (await res.json()) as { tokens: { name: string; revokedAt: string | null }[] };
  return tokens.filter((t) => t.name === "Console session" && t.revokedAt === null).length;
}

describe("console over https", () => {
  it("signs in with a Secure, host-only session cookie scoped to /console, which then opens pages", async () => {
    const tenant = await h.newTenant("https");
    const res = await signIn(tenant.ownerToken);
    expect(res.status).toBe(303);
    const session = res.headers.getSetCookie().find((c) => c.startsWith("__Secure-churn_console="));
    expect(session).toBeDefined();
    expect(session).toMatch(/; Path=\/console/);
    expect(session).toMatch(/; Secure/);
    expect(session).toMatch(/; HttpOnly/);
    expect(session).toMatch(/; SameSite=Strict/);
    expect(session).not.toMatch(/Domain=/i);

    const page = await h.app.request(`${ORIGIN}/console/overview`, {
      headers: { cookie: session!.split(";")[0]! },
    });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain("Overview");
    expect(await consoleSessions(tenant.ownerToken)).toBe(1);
  });

  it("leaves no session token behind when a sign-in fails", async () => {
    const tenant = await h.newTenant("https-failures");
    for (let i = 0; i < 3; i++) {
      const res = await signIn(`churn_pat_wrong${i}`);
      expect(res.status).toBe(401);
      expect(res.headers.getSetCookie().some((c) => c.startsWith("__Secure-churn_console="))).toBe(false);
    }
    expect(await consoleSessions(tenant.ownerToken)).toBe(0);
  });
});
