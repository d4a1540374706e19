import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { ChurnError } from "#shared/errors.ts";
import { sha256Hex } from "#shared/hash.ts";
import { type Manifest, manifestSchema } from "#shared/manifest.ts";
import type { Candidate, RetrainingClaim } from "#shared/retraining.ts";
import { trainToDirectory } from "../pipeline/train.ts";
import { DEFAULT_SEED } from "../pipeline/train-options.ts";
import { type ControlPlaneTarget, publishModelDir } from "../remote/control-plane-client.ts";
import { RetrainingClient } from "../remote/retraining-client.ts";
import { assembleTrainingSet, labeledRows, negativeValue, readTable, tableToCsv } from "./data.ts";
import { holdoutScores, scoreRows } from "./evaluate.ts";

export interface WorkerOptions {
  target: ControlPlaneTarget;
  /** Handle one job (or none) and return. */
  once?: boolean;
  /** Seconds between claims while the queue is empty (default 30). */
  pollSeconds?: number;
  /** Caps the policy's training budget, in seconds. */
  timeBudget?: number;
  /** A name for the control plane's records (default host:pid). */
  name?: string;
  /** Stops the loop between jobs (and the current job between steps). */
  signal?: AbortSignal;
  /** Progress lines for a person or a log. */
  log?: (line: string) => void;
  seed?: number;
}

export type JobOutcome =
  | { jobId: string; status: "completed"; candidate: Candidate; seconds: number }
  | { jobId: string; status: "failed"; reason: string; seconds: number }
  | { jobId: string; status: "lease-lost"; reason: string; seconds: number };

/**
 * `churn worker`: claims retraining jobs from the control plane and runs each one: train on the policy's
 * data source plus the labeled feedback collected so far, publish the candidate, score it and the current
 * production model on one common holdout, and report both. The control plane's gate takes it from there.
 */
export async function runWorker(options: WorkerOptions): Promise<JobOutcome[]> {
  const client = new RetrainingClient(options.target);
  const name = options.name ?? `${hostname()}:${process.pid}`;
  const log = options.log ?? (() => {});
  const outcomes: JobOutcome[] = [];
  for (;;) {
    if (options.signal?.aborted) return outcomes;
    const claim = await client.claim(name);
    if (claim) {
      log(
        `claimed ${claim.job.id} (attempt ${claim.job.attempts} of ${claim.job.maxAttempts}, ${claim.job.trigger})`,
      );
      const outcome = await runJob(client, claim, options, log);
      outcomes.push(outcome);
      log(describeOutcome(outcome));
    }
    if (options.once) return outcomes;
    if (!claim) await sleep((options.pollSeconds ?? 30) * 1000, options.signal);
  }
}

export function describeOutcome(outcome: JobOutcome): string {
  const took = `${outcome.seconds.toFixed(1)} s`;
  if (outcome.status !== "completed")
    return `${outcome.jobId} ${outcome.status} after ${took}: ${outcome.reason}`;
  const c = outcome.candidate;
  const h = c.holdout;
  const fmt = (m: { auc: number; logLoss: number } | null) =>
    m ? `AUC ${m.auc.toFixed(4)}, log loss ${m.logLoss.toFixed(4)}` : "–";
  const scores = `holdout ${fmt(h.candidate)} vs production ${fmt(h.production)}`;
  return c.state === "rejected"
    ? `${outcome.jobId}: candidate ${c.versionId} rejected (${c.reason}) after ${took}`
    : `${outcome.jobId}: candidate ${c.versionId} in canary at ${c.canaryWeight}% (${scores}) after ${took}`;
}

class LeaseLost extends Error {
  override name = "LeaseLost";
}

/** One claimed job, with heartbeats every third of the lease; never throws (the outcome says what happened). */
export async function runJob(
  client: RetrainingClient,
  claim: RetrainingClaim,
  options: Pick<WorkerOptions, "timeBudget" | "signal" | "seed">,
  log: (line: string) => void,
): Promise<JobOutcome> {
  const started = performance.now();
  const seconds = () => (performance.now() - started) / 1000;
  const jobId = claim.job.id;
  let lost: string | null = null;
  const heartbeat = setInterval(
    () => {
      client.heartbeat(jobId, claim.leaseToken).catch((err: unknown) => {
        if (err instanceof ChurnError && err.code === "CONFLICT") lost = err.message;
        else log(`heartbeat for ${jobId} failed (will retry): ${(err as Error).message}`);
      });
    },
    Math.max(1000, (claim.leaseSeconds * 1000) / 3),
  );
  const check = () => {
    if (lost !== null) throw new LeaseLost(lost);
    if (options.signal?.aborted) throw new ChurnError("UNAVAILABLE", "worker stopped");
  };
  const dir = await mkdtemp(join(tmpdir(), "churn-worker-"));
  try {
    const candidate = await retrain(client, claim, dir, options, check, log);
    return { jobId, status: "completed", candidate, seconds: seconds() };
  } catch (err) {
    if (
      err instanceof LeaseLost ||
      (err instanceof ChurnError && err.code === "CONFLICT" && /lease/i.test(err.message))
    ) {
      return { jobId, status: "lease-lost", reason: err.message, seconds: seconds() };
    }
    const reason =
      err instanceof ChurnError ? `[${err.code}] ${err.message}` : String((err as Error).stack ?? err);
    try {
      await client.fail(jobId, claim.leaseToken, reason);
    } catch (failErr) {
      log(`could not report the failure of ${jobId}: ${(failErr as Error).message}`);
    }
    return { jobId, status: "failed", reason, seconds: seconds() };
  } finally {
    clearInterval(heartbeat);
    await rm(dir, { recursive: true, force: true });
  }
}

async function retrain(
  client: RetrainingClient,
  claim: RetrainingClaim,
  dir: string,
  options: Pick<WorkerOptions, "timeBudget" | "seed">,
  check: () => void,
  log: (line: string) => void,
): Promise<Candidate> {
  const { policy, production, job } = claim;
  if (!policy.dataSource) throw new ChurnError("INVALID_REQUEST", "The retraining policy has no data source");
  const source = await readTable(policy.dataSource);
  const negative = negativeValue(source, policy.target, policy.positive);
  const labeled = await client.records(job.id);
  for (const row of labeledRows(labeled, source.header, policy.target, policy.positive, negative)) {
    source.rows.push(row);
  }
  const holdout = policy.holdoutSource ? await readTable(policy.holdoutSource) : null;
  const seed = options.seed ?? DEFAULT_SEED;
  const set = assembleTrainingSet(source, holdout, policy.target, policy.positive, seed);
  log(
    `${job.id}: ${set.split.train.length} training rows (${labeled.records.length} from feedback), ${set.split.test.length} holdout rows`,
  );
  check();

  await mkdir(dir, { recursive: true });
  const dataPath = join(dir, "data.csv");
  const splitPath = join(dir, "split.json");
  await writeFile(dataPath, tableToCsv(set.table));
  await writeFile(splitPath, JSON.stringify(set.split));
  const timeBudget = Math.min(policy.timeBudgetSeconds, options.timeBudget ?? Number.POSITIVE_INFINITY);
  const result = await trainToDirectory({
    data: dataPath,
    target: policy.target,
    positive: policy.positive,
    out: join(dir, "candidate"),
    split: splitPath,
    seed,
    timeBudget,
    ...(production ? { name: production.name } : {}),
  });
  check();

  const published = await publishModelDir(client.target, result.outDir);
  log(
    `${job.id}: published ${published.version.name} v${published.version.version} (${published.version.id})`,
  );
  check();

  const candidateBytes = new Uint8Array(await readFile(result.files.model));
  const candidateScores = holdoutScores(
    set.holdoutLabels,
    await scoreRows(candidateBytes, result.manifest, set.table, set.split.test),
  );
  let productionScores = null;
  if (production) {
    const bytes = await client.productionModel(job.id);
    const manifest: Manifest = manifestSchema.parse(production.manifest);
    if ((await sha256Hex(bytes)) !== manifest.onnx.sha256) {
      throw new ChurnError(
        "INVALID_MODEL",
        `Production model ${production.versionId} does not match its manifest's sha256`,
      );
    }
    productionScores = holdoutScores(
      set.holdoutLabels,
      await scoreRows(bytes, manifest, set.table, set.split.test),
    );
  }
  check();
  return client.complete(job.id, {
    leaseToken: claim.leaseToken,
    candidateVersionId: published.version.id,
    holdout: {
      rows: set.split.test.length,
      positives: set.holdoutLabels.reduce((a, b) => a + b, 0),
      candidate: candidateScores,
      production: productionScores,
    },
  });
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener(
      "abort",
      () => {
        clearTimeout(timer);
        resolve();
      },
      { once: true },
    );
  });
}
