import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApiClient } from "../../control-plane/src/modules/identity/api-clients.ts";
import { addUser, createTenant } from "../../control-plane/src/modules/identity/tenants.ts";
import { clientCredentialsToken, publishModelDir } from "../../trainer/src/remote/control-plane-client.ts";
import { SAMPLE_CUSTOMER, trainFixtureModel } from "../helpers/model-fixture.ts";
import {
  type ConsoleHarness,
  cookieHeader,
  csrfOf,
  SCREENSHOTS,
  sendTraffic,
  seriousViolations,
  signedIn,
  startConsoleHarness,
  waitForText,
  waitForVisible,
} from "./harness.ts";

/** The admin console in a real Chromium, against the platform as `npm start` runs it. */
describe("admin console", () => {
  let h: ConsoleHarness;

  beforeAll(async () => {
    h = await startConsoleHarness();
    await sendTraffic(h, 800);
  });

  afterAll(async () => {
    await h?.stop();
  });

  const predictAtEdge = (token: string) =>
    fetch(`${h.platform.state.edgeUrl}/v1/predict`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({ records: [SAMPLE_CUSTOMER] }),
    });

  it("serves every page under a strict CSP with bundled assets, and sends strangers to sign-in", async () => {
    const res = await fetch(`${h.url}/overview`, { redirect: "manual" });
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe("/console/sign-in");
    const signIn = await fetch(`${h.url}/sign-in`);
    const csp = signIn.headers.get("content-security-policy") ?? "";
    expect(csp).toContain("default-src 'self'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain("unsafe-inline");
    const body = await signIn.text();
    expect(body).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/); // no inline scripts
    expect(body).not.toMatch(/https?:\/\//); // nothing from another origin
    for (const asset of ["assets/console.css", "assets/console.js"]) {
      expect((await fetch(`${h.url}/${asset}`)).status).toBe(200);
    }
    // Console routes are not part of the JSON API's OpenAPI document.
    const doc = (await (await fetch(`${h.platform.state.controlPlaneUrl}/v1/openapi.json`)).json()) as {
      paths: Record<string, unknown>;
    };
    expect(Object.keys(doc.paths).some((p) => p.startsWith("/console"))).toBe(false);
  });

  it("signs in with a personal access token: an httpOnly, SameSite=Strict session that sign-out ends", async () => {
    const bad = await signedInFails("churn_pat_not-a-real-token");
    expect(bad).toContain("not valid");

    const { context, page, problems } = await signedIn(h, h.platform.state.ownerToken);
    await waitForText(page.getByTestId("live-version"), /v1/);
    const [cookie] = (await context.cookies()).filter((c) => c.name.includes("churn_console"));
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: "Strict", path: "/console" });
    expect(cookie!.value.startsWith("churn_pat_")).toBe(true);
    expect(cookie!.value).not.toBe(h.platform.state.ownerToken); // a session token of its own

    const stolen = await cookieHeader(context);
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.waitForURL(/sign-in/);
    // The session token was revoked, not only forgotten by the browser.
    const replay = await fetch(`${h.url}/overview`, { headers: { cookie: stolen }, redirect: "manual" });
    expect(replay.status).toBe(303);
    expect(problems).toEqual([]);
    await context.close();
  });

  async function signedInFails(token: string): Promise<string> {
    const context = await h.browser.newContext();
    const page = await context.newPage();
    await page.goto(`${h.url}/sign-in`);
    await page.getByLabel("Personal access token").fill(token);
    await page.getByRole("button", { name: "Sign in" }).click();
    const text = (await page.getByRole("alert").textContent()) ?? "";
    await context.close();
    return text;
  }

  it("refuses a change without the session's CSRF token: 403 page for forms, the JSON envelope for scripts", async () => {
    const { context, page } = await signedIn(h, h.platform.state.ownerToken);
    await page.goto(`${h.url}/clients`);
    const cookie = await cookieHeader(context);
    const form = (fields: Record<string, string>) => ({
      method: "POST",
      headers: { cookie, "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams(fields).toString(),
    });
    const missing = await fetch(`${h.url}/clients`, form({ name: "x", scopes: "predict" }));
    expect(missing.status).toBe(403);
    expect(missing.headers.get("content-type")).toContain("text/html");
    expect(await missing.text()).toContain("CSRF");

    const wrong = await fetch(`${h.url}/clients`, {
      method: "POST",
      headers: {
        cookie,
        "content-type": "application/json",
        accept: "application/json",
        "x-csrf-token": "forged",
      },
      body: "{}",
    });
    expect(wrong.status).toBe(403);
    const envelope = (await wrong.json()) as { error: { code: string; message: string; requestId: string } };
    expect(envelope.error.code).toBe("FORBIDDEN");
    expect(envelope.error.requestId).toBeTruthy();

    // A cross-site Origin is refused even with the right token.
    const token = await csrfOf(page);
    const crossSite = await fetch(`${h.url}/clients`, {
      ...form({ _csrf: token, name: "x", scopes: "predict" }),
      headers: {
        cookie,
        "content-type": "application/x-www-form-urlencoded",
        origin: "https://evil.example",
      },
    });
    expect(crossSite.status).toBe(403);
    await context.close();
  });

  it("sets a 20 % canary with a reason, shows it in the audit log, promotes, then rolls back", async () => {
    const { state } = h.platform;
    const fixture = await trainFixtureModel(join(h.dir, "v2"), { rows: 1200, seed: 5 });
    const published = await publishModelDir(
      { url: state.controlPlaneUrl, token: state.ownerToken },
      fixture.dir,
    );
    const v = published.version.version;

    const { context, page, problems } = await signedIn(h, state.ownerToken);
    await page.goto(`${h.url}/models`);
    await page.getByLabel("Baseline").selectOption({ label: "v1" });
    await page.getByLabel("Candidate").selectOption({ label: `v${v}` });
    await page.getByRole("button", { name: "Compare" }).click();
    const compare = page.getByRole("region", { name: `Compare v1 and v${v}` });
    await waitForVisible(compare.getByRole("rowheader", { name: "ROC-AUC" }));

    const row = page.locator(`tr[data-version="${v}"]`);
    await row.getByRole("button", { name: "Canary" }).click();
    const dialog = page.getByRole("dialog", { name: `Canary v${v}` });
    await dialog.getByLabel("Share of customers (%)").fill("20");
    await dialog.getByLabel(/Reason/).fill("try the retrained model on a fifth of customers");
    await dialog.getByRole("button", { name: "Set canary" }).click();
    await page.waitForURL(/done=canary/);
    await waitForVisible(row.getByText("Canary 20 %"));

    await page.goto(`${h.url}/overview`);
    expect(await page.getByTestId("canary").textContent()).toMatch(new RegExp(`v${v}\\s+at\\s+20 %`));

    await page.goto(`${h.url}/audit?action=deployment.update`);
    const latest = page.locator("table.audit tbody tr").first();
    await waitForText(latest, "try the retrained model on a fifth of customers");
    await waitForText(latest, "at 20 %");
    await waitForText(page.getByTestId("chain-status"), "Chain verified");

    // Promote the canary, then roll back to the version before it.
    await page.goto(`${h.url}/models`);
    await row.getByRole("button", { name: "Promote" }).click();
    const promote = page.getByRole("dialog", { name: `Promote v${v} to production` });
    await promote.getByLabel(/Reason/).fill("canary looked good");
    await promote.getByRole("button", { name: "Promote" }).click();
    await page.waitForURL(/done=promoted/);
    await waitForVisible(row.getByText("Production"));

    await page.getByRole("button", { name: "Roll back" }).click();
    const rollback = page.getByRole("dialog", { name: "Roll back production" });
    await rollback.getByLabel(/Reason/).fill("conversion dropped after the promotion");
    await rollback.getByRole("button", { name: "Roll back" }).click();
    await page.waitForURL(/done=rolled-back/);
    await waitForVisible(page.locator('tr[data-version="1"]').getByText("Production"));

    const deployment = (await (
      await fetch(`${state.controlPlaneUrl}/v1/deployment`, {
        headers: { authorization: `Bearer ${state.ownerToken}` },
      })
    ).json()) as { production: { version: number }; canary: unknown };
    expect(deployment.production.version).toBe(1);
    expect(deployment.canary).toBeNull();
    const exported = await fetch(`${h.url}/audit/export`, {
      headers: { cookie: await cookieHeader(context) },
    });
    expect(exported.headers.get("content-type")).toContain("application/x-ndjson");
    const entries = (await exported.text())
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as { seq: number; action: string });
    expect(entries.map((e) => e.seq)).toEqual(entries.map((_, i) => i + 1));
    expect(entries.at(-1)?.action).toBe("deployment.rollback");
    await page.goto(`${h.url}/audit?action=deployment.rollback`);
    await waitForText(page.locator("table.audit tbody tr").first(), "conversion dropped after the promotion");
    expect(problems).toEqual([]);
    await context.close();
  });

  it("creates an API client with its secret shown once, and after revoking it the edge refuses its token", async () => {
    const { state } = h.platform;
    const { context, page, problems } = await signedIn(h, state.ownerToken);
    await page.goto(`${h.url}/clients`);
    const create = page.getByRole("region", { name: "New API client" });
    await create.getByLabel("Name").fill("crm-scoring");
    await create.getByLabel("Requests per second").fill("50");
    await create.getByLabel("Burst").fill("100");
    await create.getByRole("button", { name: "Create client" }).click();
    const secret = (await page.getByTestId("client-secret").textContent())!.trim();
    const clientId = (await page.locator("#new-client-id").textContent())!.trim();
    expect(secret).toMatch(/^churn_cs_/);
    await page.getByRole("button", { name: "Copy" }).click();
    await waitForText(page.locator(".copy-status"), /Copied|Selected/);
    await page.screenshot({ path: join(SCREENSHOTS, "clients-secret.png") });

    // Shown once: the list never shows it again.
    await page.goto(`${h.url}/clients`);
    expect(await page.content()).not.toContain(secret);

    const token = await clientCredentialsToken(state.controlPlaneUrl, clientId, secret);
    expect((await predictAtEdge(token)).status).toBe(200);

    const row = page.locator(`tr[data-client="${clientId}"]`);
    // Edit: add a scope and change the rate limit.
    await row.getByRole("button", { name: "Edit" }).click();
    const edit = page.getByRole("dialog", { name: "Edit crm-scoring" });
    await edit.getByRole("checkbox", { name: /feedback:write/ }).check();
    await edit.getByLabel("Requests per second").fill("10");
    await edit.getByLabel("Burst").fill("20");
    await edit.getByRole("button", { name: "Save changes" }).click();
    await page.waitForURL(/done=updated/);
    await waitForText(row, "10/s, burst 20");
    await waitForText(row, "feedback:write");

    // Rotate with an overlap: a new secret is shown once and the old one keeps working meanwhile.
    await row.getByRole("button", { name: "Rotate" }).click();
    const rotate = page.getByRole("dialog", { name: "Rotate the secret of crm-scoring" });
    await rotate.getByLabel(/Keep the old secret working/).selectOption("1");
    await rotate.getByRole("button", { name: "Rotate" }).click();
    const rotated = (await page.getByTestId("client-secret").textContent())!.trim();
    expect(rotated).not.toBe(secret);
    await clientCredentialsToken(state.controlPlaneUrl, clientId, rotated);
    await clientCredentialsToken(state.controlPlaneUrl, clientId, secret);
    await waitForVisible(row.getByText("Rotating"));

    await row.getByRole("button", { name: "Revoke" }).click();
    const dialog = page.getByRole("dialog", { name: "Revoke crm-scoring?" });
    await dialog.getByRole("checkbox").check();
    await dialog.getByRole("button", { name: "Revoke client" }).click();
    await page.waitForURL(/done=revoked/);
    await waitForText(page.getByRole("status").first(), "revoked");

    // The edge caches the revocation list for up to 10 s.
    let status = 200;
    for (let i = 0; i < 40 && status === 200; i++) {
      status = (await predictAtEdge(token)).status;
      if (status === 200) await new Promise((r) => setTimeout(r, 500));
    }
    expect(status).toBe(401);
    expect(problems).toEqual([]);
    await context.close();
  });

  describe("the copy button beside a new client secret", () => {
    /** Creates a client in a fresh signed-in context and clicks Copy beside its secret. */
    async function copySecret(name: string, options: Parameters<typeof signedIn>[2]) {
      const session = await signedIn(h, h.platform.state.ownerToken, options);
      const { page } = session;
      await page.goto(`${h.url}/clients`);
      const create = page.getByRole("region", { name: "New API client" });
      await create.getByLabel("Name").fill(name);
      await create.getByRole("button", { name: "Create client" }).click();
      const secret = (await page.getByTestId("client-secret").textContent())!.trim();
      await page.getByRole("button", { name: "Copy" }).click();
      return { ...session, secret, status: page.locator(".copy-status") };
    }

    it("writes the secret to the clipboard where the browser grants it", async () => {
      const { context, page, problems, secret, status } = await copySecret("copy-granted", {
        permissions: ["clipboard-read", "clipboard-write"],
      });
      await waitForText(status, /^Copied$/);
      expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(secret);
      expect(problems).toEqual([]);
      await context.close();
    });

    // Over plain HTTP on a host other than localhost, browsers expose no Clipboard API at all.
    const noClipboardApi =
      "Object.defineProperty(Navigator.prototype, 'clipboard', { get: () => undefined });";

    it("falls back to selecting the secret and copying it where there is no Clipboard API", async () => {
      const { context, page, problems, secret, status } = await copySecret("copy-fallback", {
        initScript: noClipboardApi,
      });
      await waitForText(status, /^(Copied|Selected: press Ctrl\+C to copy)$/);
      expect(await page.evaluate(() => window.getSelection()?.toString().trim())).toBe(secret);
      expect(problems).toEqual([]);
      await context.close();
    });

    it("leaves the secret selected and says to press Ctrl+C where the browser refuses to copy", async () => {
      const { context, page, problems, secret, status } = await copySecret("copy-refused", {
        initScript: `${noClipboardApi} Document.prototype.execCommand = () => false;`,
      });
      await waitForText(status, /^Selected: press Ctrl\+C to copy$/);
      expect(await page.evaluate(() => window.getSelection()?.toString().trim())).toBe(secret);
      expect(problems).toEqual([]);
      await context.close();
    });
  });

  it("an analyst sees no promote and cannot forge one; the server refuses it", async () => {
    const { state, deps } = h.platform;
    const analyst = await addUser(
      deps.db,
      { actor: { type: "system", id: "test" }, requestId: null, ip: null, userAgent: null },
      { tenantId: state.tenantId, email: "analyst@demo.local", role: "analyst" },
    );
    const { context, page } = await signedIn(h, analyst.token);
    await page.goto(`${h.url}/models`);
    expect(await page.getByRole("button", { name: /Promote|Canary|Roll back/ }).count()).toBe(0);
    const nav = page.getByRole("navigation", { name: "Sections" });
    expect(await nav.getByRole("link", { name: "Audit log" }).count()).toBe(0);
    expect(await nav.getByRole("link", { name: "API clients" }).count()).toBe(0);

    const versionId = await page.locator("tr[data-version] ").first().getAttribute("data-version");
    expect(versionId).toBeTruthy();
    const current = (await (
      await fetch(`${state.controlPlaneUrl}/v1/deployment`, {
        headers: { authorization: `Bearer ${state.ownerToken}` },
      })
    ).json()) as { revision: number; production: { versionId: string } };
    const forged = await fetch(`${h.url}/deployment/promote`, {
      method: "POST",
      headers: {
        cookie: await cookieHeader(context),
        "content-type": "application/x-www-form-urlencoded",
        accept: "application/json",
      },
      body: new URLSearchParams({
        _csrf: await csrfOf(page),
        versionId: current.production.versionId,
        revision: String(current.revision),
        reason: "forged by an analyst",
      }).toString(),
    });
    expect(forged.status).toBe(403);
    expect(((await forged.json()) as { error: { code: string } }).error.code).toBe("FORBIDDEN");
    const after = (await (
      await fetch(`${state.controlPlaneUrl}/v1/deployment`, {
        headers: { authorization: `Bearer ${state.ownerToken}` },
      })
    ).json()) as { revision: number };
    expect(after.revision).toBe(current.revision);

    // Pages the role may not open are refused by the server too.
    const audit = await page.goto(`${h.url}/audit`);
    expect(audit?.status()).toBe(403);
    await context.close();
  });

  it("shows a new tenant empty states that say what to do next", async () => {
    const fresh = await createTenant(h.platform.deps.db, {
      name: "Fresh Co",
      ownerEmail: "owner@fresh.test",
      ownerName: "Fresh Owner",
    });
    const { context, page, problems } = await signedIn(h, fresh.ownerToken);
    await waitForVisible(page.getByRole("heading", { name: "No model yet" }));
    await waitForVisible(page.getByText("npx churn publish model/ --deploy"));
    expect(await seriousViolations(page)).toEqual([]);
    await page.screenshot({ path: join(SCREENSHOTS, "overview-new-tenant.png") });
    for (const [name, heading] of [
      ["models", "No models published yet"],
      ["monitoring", "Nothing to monitor yet"],
      ["business", "Nothing deployed yet"],
      ["clients", "No active clients"],
    ] as const) {
      await page.goto(`${h.url}/${name}`);
      await waitForVisible(page.getByRole("heading", { name: heading }));
    }
    // Nothing of the demo tenant leaks into another tenant's console.
    await page.goto(`${h.url}/audit`);
    expect(await page.content()).not.toContain(h.platform.state.tenantId);
    expect(problems).toEqual([]);
    await context.close();
  });

  it("shows what people typed as text, never as markup", async () => {
    const { state, deps } = h.platform;
    const name = `<img src=x onerror="document.title='owned'">`;
    await createApiClient(
      deps.db,
      { actor: { type: "system", id: "test" }, requestId: null, ip: null, userAgent: null },
      { tenantId: state.tenantId, name: name.slice(0, 64), scopes: ["predict"] },
    );
    const { context, page, problems } = await signedIn(h, state.ownerToken);
    await page.goto(`${h.url}/clients`);
    await expect(
      page
        .getByRole("rowheader", { name: /<img src=x/ })
        .first()
        .isVisible(),
    ).resolves.toBe(true);
    expect(await page.locator("img").count()).toBe(0);
    expect(await page.title()).not.toBe("owned");
    expect(problems).toEqual([]);
    await context.close();
  });

  it("the business what-if redraws the expected-profit curve for another threshold and offer cost", async () => {
    const { context, page, problems } = await signedIn(h, h.platform.state.ownerToken);
    await page.goto(`${h.url}/business`);
    const path = page.locator("#profit-chart path.line");
    const before = await path.getAttribute("d");
    const profitBefore = await page.locator("#wi-profit").textContent();
    await page.getByLabel(/Threshold/).fill("0.8");
    await waitForText(page.locator("#wi-threshold-out"), /^0\.80$/);
    await waitForText(page.locator("#profit-chart .marker text"), /^threshold 0\.80$/);
    await expect.poll(() => page.locator("#wi-profit").textContent()).not.toBe(profitBefore);
    await page.getByLabel("Offer cost ($)").fill("400");
    await expect.poll(() => path.getAttribute("d")).not.toBe(before);
    // Offers dearer than a kept customer is worth: contacting nobody is best.
    await waitForText(page.locator("#wi-best"), /^none: no contact pays off$/);
    expect(problems).toEqual([]);
    await context.close();
  });

  it("has no serious or critical accessibility violations on any page, on laptop and phone widths", async () => {
    const pages = ["overview", "business", "models", "monitoring", "usage", "audit", "clients"];
    const { context, page } = await signedIn(h, h.platform.state.ownerToken);
    for (const name of pages) {
      await page.goto(`${h.url}/${name}`);
      expect({ page: name, violations: await seriousViolations(page) }).toEqual({
        page: name,
        violations: [],
      });
      await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
      if (name === "overview") await page.screenshot({ path: join(SCREENSHOTS, "overview-1280x800.png") });
    }
    await context.close();

    const phone = await signedIn(h, h.platform.state.ownerToken, { viewport: { width: 390, height: 844 } });
    for (const name of ["overview", "models"]) {
      await phone.page.goto(`${h.url}/${name}`);
      await phone.page.screenshot({ path: join(SCREENSHOTS, `${name}-phone.png`), fullPage: true });
      const overflow = await phone.page.evaluate(
        () => document.documentElement.scrollWidth - window.innerWidth,
      );
      expect({ page: name, overflow }).toEqual({ page: name, overflow: 0 });
    }
    await phone.context.close();

    const anonymous = await h.browser.newPage();
    await anonymous.goto(`${h.url}/sign-in`);
    expect(await seriousViolations(anonymous)).toEqual([]);
    await anonymous.screenshot({ path: join(SCREENSHOTS, "sign-in.png") });
    await anonymous.close();
  });

  it("shows the month's predictions the edge counted, and a quota set there stops the edge within seconds", async () => {
    const { state } = h.platform;
    const { context, page, problems } = await signedIn(h, state.ownerToken);
    // The demo traffic (800 records and more) reaches the page through the edge's meter and KV.
    await expect
      .poll(
        async () => {
          await page.goto(`${h.url}/usage`);
          return Number((await page.getByTestId("tenant-used").textContent())?.replace(/,/g, ""));
        },
        { timeout: 30_000, interval: 1_000 },
      )
      .toBeGreaterThanOrEqual(800);
    await waitForVisible(page.getByRole("rowheader", { name: /demo/i }));
    expect(await seriousViolations(page)).toEqual([]);

    await page.getByLabel("Predictions per calendar month (UTC)").fill("1");
    await page.getByRole("button", { name: "Save quota" }).click();
    await waitForText(page.getByRole("status"), /Monthly quota saved/);
    const token = await clientCredentialsToken(state.controlPlaneUrl, state.clientId, state.clientSecret);
    // The edge reads the tenant's limits again within 10 s of a change.
    let res = await predictAtEdge(token);
    for (const deadline = Date.now() + 30_000; res.status === 200 && Date.now() < deadline; ) {
      await new Promise((r) => setTimeout(r, 500));
      res = await predictAtEdge(token);
    }
    expect(res.status).toBe(429);
    expect(Number(res.headers.get("retry-after"))).toBeGreaterThan(0);
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe("QUOTA_EXCEEDED");
    expect(body.error.message).toMatch(/^The tenant's monthly prediction quota of 1 is used up/);

    // Emptied, the quota is removed again.
    await page.getByLabel("Predictions per calendar month (UTC)").fill("");
    await page.getByRole("button", { name: "Save quota" }).click();
    await waitForText(page.getByRole("status"), /Monthly quota saved/);
    expect(await page.getByText("No monthly quota").count()).toBe(1);
    expect(problems).toEqual([]);
    await context.close();
  });
});
