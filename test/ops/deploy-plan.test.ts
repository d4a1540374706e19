import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ENVIRONMENTS,
  type ObservedState,
  planDeployment,
  withKvNamespaceId,
} from "../../scripts/lib/deploy/plan.ts";

const root = resolve(import.meta.dirname, "../..");
const fixtures = join(root, "test/fixtures/deploy");
const run = promisify(execFile);
const recorded = async (name: string) =>
  JSON.parse(await readFile(join(fixtures, `${name}.json`), "utf8")) as ObservedState;

describe("npm run deploy: the plan", () => {
  it("provisions a fresh account as recorded: KV namespace, queue and dead-letter queue, deploy, secret", async () => {
    const plan = planDeployment(ENVIRONMENTS.staging, await recorded("fresh-account"), {
      INGEST_SECRET: "s",
    });
    expect(plan).toEqual(JSON.parse(await readFile(join(fixtures, "fresh-account.plan.json"), "utf8")));
  });

  it("is idempotent: on the account it provisioned it only deploys, with the namespace it found", async () => {
    const plan = planDeployment(ENVIRONMENTS.staging, await recorded("after-first-deploy"), {});
    expect(plan.actions).toEqual([{ kind: "deploy-worker", worker: "churn-edge-staging", env: "staging" }]);
    expect(plan.kvNamespaceId).toBe("7a1d3c5e9b2f4a6c8e0d1f3b5a7c9e11");
    expect(plan.missingSecrets).toEqual([]);
  });

  it("stops a first deploy that lacks INGEST_SECRET, naming it", async () => {
    const plan = planDeployment(ENVIRONMENTS.production, await recorded("fresh-account"), {});
    expect(plan.missingSecrets).toEqual(["INGEST_SECRET"]);
  });

  it("keeps staging and production apart: each has its own namespace and queues", () => {
    const { staging, production } = ENVIRONMENTS;
    expect(new Set([staging.kvTitle, production.kvTitle]).size).toBe(2);
    expect(
      new Set([staging.queue, staging.deadLetterQueue, production.queue, production.deadLetterQueue]).size,
    ).toBe(4);
  });
});

describe("npm run deploy: the command", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "churn-deploy-test-"));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  const deploy = (args: string[], env: Record<string, string> = {}) =>
    run(process.execPath, [join(root, "scripts/deploy.ts"), ...args], {
      cwd: root,
      env: { ...process.env, INGEST_SECRET: "", ...env },
    }).catch((err: { code: number; stdout: string; stderr: string }) => err);

  it("prints the plan for a recorded state without touching an account", async () => {
    const out = (await deploy([
      "--env",
      "staging",
      "--observed",
      join(fixtures, "after-first-deploy.json"),
    ])) as {
      stdout: string;
    };
    expect(JSON.parse(out.stdout)).toMatchObject({
      env: "staging",
      actions: [{ kind: "deploy-worker" }],
      missingSecrets: [],
    });
  });

  it("refuses, before any change, a first deploy without INGEST_SECRET", async () => {
    const out = await deploy(["--env", "production", "--observed", join(fixtures, "fresh-account.json")]);
    expect(out).toMatchObject({ code: 2 });
    expect((out as { stderr: string }).stderr).toContain("INGEST_SECRET");
  });

  it("names a wrong environment", async () => {
    const out = await deploy(["--env", "prod"]);
    expect(out).toMatchObject({ code: 2 });
    expect((out as { stderr: string }).stderr).toContain("--env must be staging or production");
  });

  it("deploys (dry run) from the generated config with the namespace id filled in", async () => {
    const toml = await readFile(join(root, "wrangler.toml"), "utf8");
    const generated = withKvNamespaceId(toml, "staging", "7a1d3c5e9b2f4a6c8e0d1f3b5a7c9e11").replace(
      'main = "edge/src/worker.ts"',
      `main = "${join(root, "edge/src/worker.ts")}"`,
    );
    expect(generated).toContain(
      '[[env.staging.kv_namespaces]]\nbinding = "EDGE_KV"\nid = "7a1d3c5e9b2f4a6c8e0d1f3b5a7c9e11"',
    );
    expect(generated.match(/^id = /gm)).toHaveLength(2); // the local namespace and staging's, not production's
    await writeFile(join(dir, "wrangler.toml"), generated);
    const { stdout } = await run(
      process.execPath,
      [
        join(root, "node_modules/wrangler/bin/wrangler.js"),
        "deploy",
        "--dry-run",
        "--config",
        join(dir, "wrangler.toml"),
        "--env",
        "staging",
        "--outdir",
        join(dir, "out"),
      ],
      { cwd: root, env: { ...process.env, WRANGLER_SEND_METRICS: "false" }, maxBuffer: 16 * 1024 * 1024 },
    );
    expect(stdout).toMatch(/env\.EDGE_KV \(7a1d3c5e9b2f4a6c8e0d1f3b5a7c9e11\)\s+KV Namespace/);
  }, 120_000);
});
