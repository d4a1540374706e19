import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { connect, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Browser, chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Platform, startPlatform } from "../../scripts/lib/platform.ts";
import { CHROMIUM, waitForVisible } from "./harness.ts";

/**
 * The console behind a TLS-terminating proxy, as production runs it: Debian's Caddy with its own local
 * certificate authority in front of the control plane, and a person signing in through Chromium.
 */

const CADDY = process.env["CADDY_PATH"] ?? "/usr/bin/caddy";

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
  const { port } = server.address() as { port: number };
  await new Promise<void>((ok) => server.close(() => ok()));
  return port;
}

async function listening(port: number, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const up = await new Promise<boolean>((ok) => {
      const socket = connect(port, "127.0.0.1", () => {
        socket.end();
        ok(true);
      });
      socket.on("error", () => ok(false));
    });
    if (up) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`nothing listens on ${port} after ${timeoutMs} ms`);
}

let dir: string;
let platform: Platform;
let caddy: ChildProcess;
let browser: Browser;
let origin: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "churn-https-"));
  const port = await freePort();
  origin = `https://127.0.0.1:${port}`;
  platform = await startPlatform({
    dataDir: join(dir, "data"),
    controlPlanePort: 0,
    edgePort: 0,
    demoRows: 2000,
    demoTimeBudget: 5,
    publicUrl: origin,
  });
  const upstream = new URL(platform.state.controlPlaneUrl).host;
  await writeFile(
    join(dir, "Caddyfile"),
    `{\n\tadmin off\n\tauto_https disable_redirects\n\tskip_install_trust\n}\n${origin} {\n\ttls internal\n\treverse_proxy ${upstream}\n}\n`,
  );
  // Caddy keeps its local CA under XDG_DATA_HOME: a temp dir, so nothing outlives the test.
  caddy = spawn(CADDY, ["run", "--config", join(dir, "Caddyfile"), "--adapter", "caddyfile"], {
    env: {
      ...process.env,
      HOME: dir,
      XDG_DATA_HOME: join(dir, "xdg-data"),
      XDG_CONFIG_HOME: join(dir, "xdg"),
    },
    stdio: "ignore",
  });
  await listening(port);
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox", "--disable-gpu"] });
});

afterAll(async () => {
  await browser?.close();
  caddy?.kill("SIGTERM");
  await platform?.stop();
  await rm(dir, { recursive: true, force: true });
});

/** Open console sessions of the demo owner, read from the control plane directly. */
async function consoleSessions(): Promise<number> {
  const res = await fetch(`${platform.state.controlPlaneUrl}/v1/users/me/tokens`, {
    headers: { authorization: `Bearer ${platform.state.ownerToken}` },
  });
  const { tokens } = (await res.json()) as { tokens: { name: string; revokedAt: string | null }[] };
  return tokens.filter((t) => t.name === "Console session" && t.revokedAt === null).length;
}

describe("console behind a TLS-terminating proxy", () => {
  it("signs in over https with a Secure cookie for /console, and a failed sign-in leaves no token", async () => {
    const before = await consoleSessions();
    const context = await browser.newContext({ ignoreHTTPSErrors: true });
    const page = await context.newPage();

    await page.goto(`${origin}/console/sign-in`);
    await page.fill("#token", "churn_pat_not-a-real-token");
    await page.click("button[type=submit]");
    await waitForVisible(page.locator("#sign-in-error"));
    expect(await consoleSessions()).toBe(before);

    await page.fill("#token", platform.state.ownerToken);
    await page.click("button[type=submit]");
    await page.waitForURL(/\/console\/overview$/);
    await expect(page.locator("[data-testid=live-version]").textContent()).resolves.toMatch(/ v\d+$/);

    const session = (await context.cookies()).find((c) => c.name === "__Secure-churn_console");
    expect(session).toMatchObject({ secure: true, httpOnly: true, path: "/console", sameSite: "Strict" });
    expect(await consoleSessions()).toBe(before + 1);
    await context.close();
  });
});
