/**
 * What `npm run deploy` must do for an environment, decided from what the account already has: a pure
 * function of the wanted environment and the observed state, so a recorded state gives a recorded plan.
 */

/** What one environment of the worker needs in the account (names as wrangler.toml's env section). */
export interface EnvironmentSpec {
  env: "staging" | "production";
  worker: string;
  kvTitle: string;
  queue: string;
  deadLetterQueue: string;
  /** Worker secrets the environment cannot run without. */
  secrets: string[];
}

export const ENVIRONMENTS: Record<EnvironmentSpec["env"], EnvironmentSpec> = {
  staging: {
    env: "staging",
    worker: "churn-edge-staging",
    kvTitle: "churn-edge-staging",
    queue: "churn-events-staging",
    deadLetterQueue: "churn-events-staging-dlq",
    secrets: ["INGEST_SECRET"],
  },
  production: {
    env: "production",
    worker: "churn-edge",
    kvTitle: "churn-edge-production",
    queue: "churn-events",
    deadLetterQueue: "churn-events-dlq",
    secrets: ["INGEST_SECRET"],
  },
};

/** The account as the Cloudflare API reports it. */
export interface ObservedState {
  kvNamespaces: { id: string; title: string }[];
  queues: { queue_name: string }[];
  /** Secret names set on the environment's worker (none before its first deploy). */
  workerSecrets: string[];
}

export type Action =
  | { kind: "create-kv-namespace"; title: string }
  | { kind: "create-queue"; name: string }
  | { kind: "deploy-worker"; worker: string; env: string }
  | { kind: "put-secret"; worker: string; name: string };

export interface Plan {
  actions: Action[];
  /** The KV namespace's id when it exists already (a new one's id is known once it is created). */
  kvNamespaceId: string | null;
  /** Secrets the worker lacks and the caller did not provide: the deploy stops before changing anything. */
  missingSecrets: string[];
}

/**
 * Creates only what is missing, deploys the worker (the Durable Object migration travels with it), then
 * sets the secrets that were provided or are missing. Running it again on the resulting state plans only
 * the deploy: it is idempotent.
 */
export function planDeployment(
  spec: EnvironmentSpec,
  observed: ObservedState,
  provided: Readonly<Record<string, string | undefined>>,
): Plan {
  const actions: Action[] = [];
  const kv = observed.kvNamespaces.find((n) => n.title === spec.kvTitle);
  if (!kv) actions.push({ kind: "create-kv-namespace", title: spec.kvTitle });
  const queues = new Set(observed.queues.map((q) => q.queue_name));
  for (const name of [spec.queue, spec.deadLetterQueue]) {
    if (!queues.has(name)) actions.push({ kind: "create-queue", name });
  }
  actions.push({ kind: "deploy-worker", worker: spec.worker, env: spec.env });
  const missingSecrets: string[] = [];
  for (const name of spec.secrets) {
    if (provided[name]) actions.push({ kind: "put-secret", worker: spec.worker, name });
    else if (!observed.workerSecrets.includes(name)) missingSecrets.push(name);
  }
  return { actions, kvNamespaceId: kv?.id ?? null, missingSecrets };
}

/** wrangler.toml with the environment's KV namespace id filled in, for `wrangler deploy --config`. */
export function withKvNamespaceId(toml: string, env: string, id: string): string {
  const header = `[[env.${env}.kv_namespaces]]\nbinding = "EDGE_KV"\n`;
  if (!toml.includes(header)) throw new Error(`wrangler.toml has no EDGE_KV namespace for env ${env}`);
  return toml.replace(header, `${header}id = "${id}"\n`);
}
