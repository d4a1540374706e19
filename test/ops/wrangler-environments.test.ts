import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const root = resolve(import.meta.dirname, "../..");
const run = promisify(execFile);

/** What `wrangler deploy --dry-run --env <name>` bundles and binds, as wrangler itself reads wrangler.toml. */
async function dryRun(env: string, outdir: string): Promise<string> {
  const { stdout, stderr } = await run(
    process.execPath,
    [
      join(root, "node_modules/wrangler/bin/wrangler.js"),
      "deploy",
      "--dry-run",
      "--env",
      env,
      "--outdir",
      outdir,
    ],
    { cwd: root, env: { ...process.env, WRANGLER_SEND_METRICS: "false" }, maxBuffer: 16 * 1024 * 1024 },
  );
  return stdout + stderr;
}

describe("wrangler environments", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "churn-wrangler-"));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  for (const [env, queue] of [
    ["staging", "churn-events-staging"],
    ["production", "churn-events"],
  ] as const) {
    it(`${env}: deploys (dry run) with its own KV, queue, rate limiter, quota meter and token settings`, async () => {
      const output = await dryRun(env, join(dir, env));
      expect(output).toMatch(/Total Upload: [\d.]+ KiB \/ gzip: [\d.]+ KiB/);
      expect(output).toMatch(/env\.EDGE_KV\s+KV Namespace/);
      expect(output).toMatch(new RegExp(`env\\.EVENTS \\(${queue}\\)\\s+Queue`));
      expect(output).toMatch(/env\.RATE_LIMITER \(RateLimiter\)\s+Durable Object/);
      expect(output).toMatch(/env\.PREDICTION_QUOTA \(PredictionQuota\)\s+Durable Object/);
      expect(output).toMatch(/env\.TOKEN_ISSUER \("urn:churn:control-plane"\)/);
      expect(output).toMatch(/env\.TOKEN_AUDIENCE \("urn:churn:api"\)/);
    }, 120_000);
  }

  it("keeps secrets and account ids out of wrangler.toml", async () => {
    const toml = await readFile(join(root, "wrangler.toml"), "utf8");
    expect(toml).not.toMatch(/^\s*(INGEST_SECRET|CLOUDFLARE_API_TOKEN|account_id)\s*=/m);
    expect(toml).toMatch(/^\[observability\]\nenabled = true/m);
  });
});
