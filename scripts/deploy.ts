/**
 * The edge worker to Cloudflare in one command:
 *
 *   npm run deploy -- --env staging|production [--plan-only] [--observed <state.json>]
 *
 * Reads what the account has (CLOUDFLARE_ACCOUNT_ID, CLOUDFLARE_API_TOKEN), creates what is missing (the
 * KV namespace, the event queue and its dead-letter queue), deploys the worker with wrangler (the Durable
 * Object migration travels with it) and sets INGEST_SECRET when it is given in the environment. Nothing is
 * written to the repository: the KV namespace's id goes into a temporary copy of wrangler.toml. Running it
 * again changes nothing but the deploy. `--plan-only` prints the plan and stops; `--observed` plans from a
 * recorded state instead of the API (and then only plans).
 */
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import {
  type CloudflareAccount,
  createKvNamespace,
  createQueue,
  observe,
  putSecret,
} from "./lib/deploy/cloudflare.ts";
import { ENVIRONMENTS, type ObservedState, planDeployment, withKvNamespaceId } from "./lib/deploy/plan.ts";
import { writeWarmUpModel } from "./lib/warm-up-model.ts";

const root = resolve(import.meta.dirname, "..");
const { values } = parseArgs({
  options: {
    env: { type: "string" },
    "plan-only": { type: "boolean", default: false },
    observed: { type: "string" },
  },
});

function fail(message: string): never {
  console.error(`deploy: ${message}`);
  process.exit(2);
}

const spec = ENVIRONMENTS[values.env as keyof typeof ENVIRONMENTS];
if (!spec) fail("--env must be staging or production");

let account: CloudflareAccount | undefined;
let observed: ObservedState;
if (values.observed) {
  observed = JSON.parse(await readFile(values.observed, "utf8")) as ObservedState;
} else {
  const accountId = process.env["CLOUDFLARE_ACCOUNT_ID"];
  const apiToken = process.env["CLOUDFLARE_API_TOKEN"];
  if (!accountId || !apiToken)
    fail("set CLOUDFLARE_ACCOUNT_ID and CLOUDFLARE_API_TOKEN (a token, never a file)");
  account = { accountId, apiToken };
  observed = await observe(account, spec.worker);
}

const provided = Object.fromEntries(spec.secrets.map((name) => [name, process.env[name]]));
const plan = planDeployment(spec, observed, provided);
console.log(
  JSON.stringify({ env: spec.env, actions: plan.actions, missingSecrets: plan.missingSecrets }, null, 2),
);
if (plan.missingSecrets.length > 0) {
  fail(`the worker has no ${plan.missingSecrets.join(", ")}: set it in the environment for this run`);
}
if (values["plan-only"] || !account) process.exit(0);

let kvNamespaceId = plan.kvNamespaceId;
const dir = await mkdtemp(join(tmpdir(), "churn-deploy-"));
try {
  for (const action of plan.actions) {
    if (action.kind === "create-kv-namespace") kvNamespaceId = await createKvNamespace(account, action.title);
    if (action.kind === "create-queue") await createQueue(account, action.name);
    if (action.kind === "deploy-worker") {
      await writeWarmUpModel();
      const toml = await readFile(join(root, "wrangler.toml"), "utf8");
      const config = join(dir, "wrangler.toml");
      // Paths in the copy resolve from its directory: point main back at the repository.
      await writeFile(
        config,
        withKvNamespaceId(toml, spec.env, kvNamespaceId!).replace(
          'main = "edge/src/worker.ts"',
          `main = "${join(root, "edge/src/worker.ts")}"`,
        ),
      );
      await new Promise<void>((ok, no) =>
        execFile(
          process.execPath,
          [
            join(root, "node_modules/wrangler/bin/wrangler.js"),
            "deploy",
            "--config",
            config,
            "--env",
            spec.env,
          ],
          { cwd: root, env: { ...process.env, WRANGLER_SEND_METRICS: "false" } },
          (err, stdout, stderr) => {
            process.stdout.write(stdout);
            process.stderr.write(stderr);
            if (err) no(err);
            else ok();
          },
        ),
      );
    }
    if (action.kind === "put-secret")
      await putSecret(account, action.worker, action.name, provided[action.name]!);
  }
} finally {
  await rm(dir, { recursive: true, force: true });
}
console.log(JSON.stringify({ env: spec.env, worker: spec.worker, kvNamespaceId }));
console.log(`Point the control plane at it: CLOUDFLARE_KV_NAMESPACE_ID=${kvNamespaceId}`);
