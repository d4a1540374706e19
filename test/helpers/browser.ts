import { existsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { type Browser, chromium, type Page } from "playwright-core";

/** Debian's Chromium; `.ci/run` installs it. No browser is ever downloaded. */
export const CHROMIUM = process.env["CHROMIUM_PATH"] ?? "/usr/bin/chromium";

/** Flags that keep Chromium quiet on a closed network (no background fetches, updates or first-run UI). */
const QUIET_FLAGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-dev-shm-usage",
  "--disable-background-networking",
  "--disable-component-update",
  "--no-first-run",
];

/** Screenshots are test artefacts, kept out of git. */
export const SCREENSHOT_DIR = join(import.meta.dirname, "../../.data/screenshots");

export interface HeadlessBrowser {
  browser: Browser;
  close(): Promise<void>;
}

/** Launches headless Chromium (Playwright gives it a fresh temporary profile); fails with the install hint when missing. */
export async function launchChromium(): Promise<HeadlessBrowser> {
  if (!existsSync(CHROMIUM))
    throw new Error(`${CHROMIUM} not found: install Debian's chromium (.ci/run does) or set CHROMIUM_PATH`);
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: QUIET_FLAGS });
  return { browser, close: () => browser.close() };
}

/** Saves a full-page screenshot under .data/screenshots/<name>.png and returns its path. */
export async function screenshot(page: Page, name: string): Promise<string> {
  await mkdir(SCREENSHOT_DIR, { recursive: true });
  const path = join(SCREENSHOT_DIR, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}
