import { rm } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTenant } from "../../control-plane/src/modules/identity/tenants.ts";
import { publishModelDir } from "../../trainer/src/remote/control-plane-client.ts";
import { trainFixtureModel } from "../helpers/model-fixture.ts";
import {
  type ConsoleHarness,
  cookieHeader,
  SCREENSHOTS,
  seriousViolations,
  signedIn,
  startConsoleHarness,
  waitForText,
  waitForVisible,
} from "./harness.ts";

const REPORT_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; sandbox";

/** The training report kept with each version, embedded in the console's Models page. */
describe("console: a version's training report", () => {
  let h: ConsoleHarness;

  beforeAll(async () => {
    // `npm start`'s demo model is published with `churn publish`, report.html included.
    h = await startConsoleHarness();
  });

  afterAll(async () => {
    await h?.stop();
  });

  it("opens the report from the version's row, framed in a sandbox, with no console errors", async () => {
    const { context, page, problems } = await signedIn(h, h.platform.state.ownerToken);
    const models = await page.goto(`${h.url}/models`);
    expect(models?.headers()["content-security-policy"]).toContain("frame-src 'self'");
    const row = page.locator('tr[data-version="1"]');
    await row.getByRole("link", { name: "Report of v1" }).click();
    await page.waitForURL(/\/console\/models\/[a-z0-9-]+\/versions\/1\/report$/);
    await waitForText(page.getByRole("heading", { level: 1 }), /^Report of .+ v1$/);
    await expect(
      page
        .getByRole("navigation", { name: "Version v1" })
        .getByRole("link", { name: "Report" })
        .getAttribute("aria-current"),
    ).resolves.toBe("page");

    const frame = page.locator("iframe.report-frame");
    expect(await frame.getAttribute("sandbox")).toBe("");
    expect(await frame.getAttribute("title")).toMatch(/^Training report of .+ v1$/);
    // The report's summary renders inside the frame: its ROC-AUC card with a value.
    const report = page.frameLocator("iframe.report-frame");
    const rocCard = report
      .locator(".card")
      .filter({ has: report.locator(".label", { hasText: /^ROC-AUC$/ }) });
    await waitForText(rocCard.locator(".value"), /^0\.\d+$/);
    await waitForVisible(report.getByRole("heading", { name: "Summary" }));
    // Sandboxed without allow-scripts or allow-same-origin: the framed document runs nothing and has an
    // opaque origin, so it cannot read the console's cookies or call its routes.
    const frameOrigin = await page
      .frames()
      .find((f) => f.url().endsWith("/report.html"))!
      .evaluate(() => origin);
    expect(frameOrigin).toBe("null");

    expect(await seriousViolations(page)).toEqual([]);
    await page.screenshot({ path: join(SCREENSHOTS, "model-report.png") });
    expect(problems).toEqual([]);

    // The framed bytes: the report's own strict CSP, framable by the console only, never cached.
    const src = await frame.getAttribute("src");
    const raw = await fetch(new URL(src!, h.url), { headers: { cookie: await cookieHeader(context) } });
    expect(raw.status).toBe(200);
    expect(raw.headers.get("content-type")).toBe("text/html; charset=utf-8");
    expect(raw.headers.get("content-security-policy")).toBe(`${REPORT_CSP}; frame-ancestors 'self'`);
    expect(raw.headers.get("x-content-type-options")).toBe("nosniff");
    expect(raw.headers.get("x-frame-options")).toBe("SAMEORIGIN");
    expect(raw.headers.get("cache-control")).toBe("no-store");
    const html = await raw.text();
    expect(html).toContain("ROC-AUC");
    expect(html).not.toMatch(/<script/i);
    // Without a session the bytes are not served.
    const anonymous = await fetch(new URL(src!, h.url), { redirect: "manual" });
    expect(anonymous.status).toBe(303);
    await context.close();
  });

  it("says a version was published without a report, and its report page answers 404", async () => {
    const { state } = h.platform;
    const fixture = await trainFixtureModel(join(h.dir, "no-report"), { rows: 600, seed: 11 });
    await rm(join(fixture.dir, "report.html"));
    const published = await publishModelDir(
      { url: state.controlPlaneUrl, token: state.ownerToken },
      fixture.dir,
    );
    expect(published.version.hasReport).toBe(false);
    const { name, version } = published.version;

    const { context, page, problems } = await signedIn(h, state.ownerToken);
    await page.goto(`${h.url}/models?model=${name}`);
    const row = page.locator(`tr[data-version="${version}"]`);
    await waitForVisible(row.getByText("No report"));
    expect(await row.getByRole("link", { name: `Report of v${version}` }).count()).toBe(0);
    await waitForVisible(page.getByText(/published without the trainer's report\.html/));
    expect(await seriousViolations(page)).toEqual([]);

    const missing = await page.goto(`${h.url}/models/${name}/versions/${version}/report`);
    expect(missing?.status()).toBe(404);
    await waitForVisible(page.getByText("published without a report"));
    expect(problems.filter((p) => !p.includes("404"))).toEqual([]);
    await context.close();
  });

  it("shows another tenant's people nothing of this tenant's reports", async () => {
    const other = await createTenant(h.platform.deps.db, {
      name: "Other Co",
      ownerEmail: "owner@other.test",
      ownerName: "Other Owner",
    });
    const { context, page } = await signedIn(h, other.ownerToken);
    const demoModel = (await (
      await fetch(`${h.platform.state.controlPlaneUrl}/v1/deployment`, {
        headers: { authorization: `Bearer ${h.platform.state.ownerToken}` },
      })
    ).json()) as { production: { name: string; version: number } };
    const { name, version } = demoModel.production;
    for (const path of [`report`, `report.html`]) {
      const res = await fetch(`${h.url}/models/${name}/versions/${version}/${path}`, {
        headers: { cookie: await cookieHeader(context), accept: "application/json" },
      });
      expect(res.status).toBe(404);
      const body = (await res.json()) as { error: { code: string } };
      expect(body.error.code).toBe("NOT_FOUND");
    }
    await page.close();
    await context.close();
  });
});
