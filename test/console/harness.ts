import { readFileSync } from "node:fs";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import {
  type Browser,
  type BrowserContext,
  type BrowserContextOptions,
  chromium,
  type Locator,
  type Page,
} from "playwright-core";
import { type Platform, startPlatform } from "../../scripts/lib/platform.ts";
import { generateTelco } from "../../trainer/src/data/synthetic.ts";
import { clientCredentialsToken } from "../../trainer/src/remote/control-plane-client.ts";

/** Debian's Chromium; the tests never download a browser. */
export const CHROMIUM = process.env["CHROMIUM_PATH"] ?? "/usr/bin/chromium";

/** Where screenshots of the main pages go (git-ignored, under .data/). */
export const SCREENSHOTS = resolve(".data/screenshots");

const axeSource = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");

export interface ConsoleHarness {
  dir: string;
  platform: Platform;
  browser: Browser;
  url: string;
  stop(): Promise<void>;
}

/** The platform as `npm start` runs it (edge in workerd, control plane on libSQL), and a headless Chromium. */
export async function startConsoleHarness(): Promise<ConsoleHarness> {
  const dir = await mkdtemp(join(tmpdir(), "churn-console-"));
  const platform = await startPlatform({
    dataDir: join(dir, "data"),
    controlPlanePort: 0,
    edgePort: 0,
    demoRows: 2000,
    demoTimeBudget: 5,
  });
  let browser: Browser;
  try {
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--no-first-run",
      ],
    });
  } catch (err) {
    await platform.stop();
    throw err;
  }
  await mkdir(SCREENSHOTS, { recursive: true });
  return {
    dir,
    platform,
    browser,
    url: `${platform.state.controlPlaneUrl}/console`,
    async stop() {
      await browser.close();
      await platform.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export interface Session {
  context: BrowserContext;
  page: Page;
  /** Messages the browser logged about blocked content (CSP) or script errors. */
  problems: string[];
}

/**
 * A fresh browser context signed in with `token` through the sign-in form. `options` can set the viewport,
 * grant permissions, or add a script that runs before every page's own (to take a browser API away).
 */
export async function signedIn(
  h: ConsoleHarness,
  token: string,
  options: BrowserContextOptions & { initScript?: string } = {},
): Promise<Session> {
  const { initScript, ...contextOptions } = options;
  const context = await h.browser.newContext({ viewport: { width: 1280, height: 800 }, ...contextOptions });
  if (initScript) await context.addInitScript(initScript);
  const page = await context.newPage();
  const problems: string[] = [];
  page.on("console", (m) => {
    if (m.type() === "error") problems.push(m.text());
  });
  page.on("pageerror", (e) => problems.push(e.message));
  await page.goto(`${h.url}/sign-in`);
  await page.getByLabel("Personal access token").fill(token);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.waitForURL((u) => !u.pathname.endsWith("/sign-in"));
  return { context, page, problems };
}

/** How long a browser assertion waits for the page to settle before it fails. */
const SETTLE_MS = 10_000;

/**
 * Waits, as a person would, until `locator` shows text matching `expected` (a substring, or a pattern for an
 * exact match), and returns that text. Pages update after clicks, navigations and promises settle, so a
 * single read right after an action races them; this polls until the text appears or the wait runs out.
 */
export async function waitForText(locator: Locator, expected: string | RegExp): Promise<string> {
  const match = locator.filter({ hasText: expected }).first();
  try {
    await match.waitFor({ state: "attached", timeout: SETTLE_MS });
  } catch {
    const shown = await locator
      .first()
      .textContent({ timeout: 1 })
      .catch(() => null);
    throw new Error(`${locator} never showed ${String(expected)} (it shows ${JSON.stringify(shown)})`);
  }
  return (await match.textContent()) ?? "";
}

/** Waits until `locator` is visible, failing with the locator's name when it never becomes so. */
export async function waitForVisible(locator: Locator): Promise<void> {
  await locator.first().waitFor({ state: "visible", timeout: SETTLE_MS });
}

export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: { target: string[] }[];
}

/**
 * axe-core's serious and critical violations on the current page. The script is evaluated through the
 * DevTools protocol, so the page's CSP (no inline scripts) stays in force.
 */
export async function seriousViolations(page: Page): Promise<AxeViolation[]> {
  await page.evaluate(axeSource);
  const result = (await page.evaluate(() =>
    (globalThis as unknown as { axe: { run(): Promise<{ violations: AxeViolation[] }> } }).axe.run(),
  )) as { violations: AxeViolation[] };
  return result.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
}

/** Scores customers at the edge with the demo client, so the pages have traffic to show. */
export async function sendTraffic(h: ConsoleHarness, customers: number): Promise<void> {
  const { state } = h.platform;
  const token = await clientCredentialsToken(state.controlPlaneUrl, state.clientId, state.clientSecret);
  // Customers like the ones the demo model was trained on (another seed): traffic without drift.
  const numeric = new Set(["SeniorCitizen", "tenure", "MonthlyCharges", "TotalCharges"]);
  const records = generateTelco(customers, 2024).map(({ customerID, Churn: _, ...row }) => {
    const record: Record<string, string | number> = { customerId: customerID };
    for (const [k, v] of Object.entries(row)) if (v !== "") record[k] = numeric.has(k) ? Number(v) : v;
    return record;
  });
  for (let i = 0; i < records.length; i += 100) {
    const res = await fetch(`${state.edgeUrl}/v1/predict`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({ records: records.slice(i, i + 100) }),
    });
    if (res.status !== 200) throw new Error(`predict answered ${res.status}: ${await res.text()}`);
  }
}

/** The CSRF token the signed-in page carries in its forms. */
export const csrfOf = (page: Page) => page.locator('input[name="_csrf"]').first().inputValue();

/** The session cookie, for requests a test forges outside the page. */
export async function cookieHeader(context: BrowserContext): Promise<string> {
  return (await context.cookies()).map((c) => `${c.name}=${c.value}`).join("; ");
}
