import { randomBytes } from "node:crypto";
import { ChurnError } from "#shared/errors.ts";
import { newId } from "#shared/ids.ts";
import type { RetrainingClaim, RetrainingJob, RetrainingPolicy } from "#shared/retraining.ts";
import { toIso } from "#shared/time.ts";
import type { Db, DbOrTx } from "../../platform/db/client.ts";
import type { RetrainingJobRow } from "../../platform/db/schema/index.ts";
import { writeTransaction } from "../../platform/db/write-transaction.ts";
import { type AuditContext, appendAudit, SCHEDULER_AUDIT } from "../audit/audit.ts";
import { getTenantVersion, manifestOf } from "../registry/registry.ts";
import { getRetrainingPolicy } from "./policy.ts";
import {
  exhaustedJobs,
  insertJob,
  leaseOldestClaimable,
  newestJobs,
  openJobRow,
  productionVersionIdOf,
  tenantJob,
  updateJob,
} from "./queries/jobs.ts";

export function toJob(row: RetrainingJobRow): RetrainingJob {
  return {
    id: row.id,
    state: row.state,
    trigger: row.trigger,
    reason: row.reason,
    alertId: row.alertId,
    attempts: row.attempts,
    maxAttempts: row.maxAttempts,
    leaseExpiresAt: row.state === "running" && row.leaseExpiresAt !== null ? toIso(row.leaseExpiresAt) : null,
    worker: row.worker,
    failureReason: row.failureReason,
    candidateId: row.candidateId,
    createdAt: toIso(row.createdAt),
    updatedAt: toIso(row.updatedAt),
  };
}

/** The tenant's queued or running job, if any: a tenant retrains one job at a time. */
export async function openJobOf(db: DbOrTx, tenantId: string): Promise<RetrainingJobRow | undefined> {
  return openJobRow(db, tenantId);
}

/** Queues a job and audits the request. Call in the transaction of whatever asked for it. */
export async function requestJobInTx(
  tx: DbOrTx,
  audit: AuditContext,
  tenantId: string,
  policy: RetrainingPolicy,
  input: {
    trigger: RetrainingJobRow["trigger"];
    reason: string | null;
    alertId?: string | null;
    now: number;
  },
): Promise<RetrainingJobRow> {
  const row: RetrainingJobRow = {
    id: newId("retrainingJob"),
    tenantId,
    state: "queued",
    trigger: input.trigger,
    reason: input.reason,
    alertId: input.alertId ?? null,
    attempts: 0,
    maxAttempts: policy.maxAttempts,
    leaseToken: null,
    leaseExpiresAt: null,
    worker: null,
    productionVersionId: null,
    failureReason: null,
    candidateId: null,
    createdAt: input.now,
    updatedAt: input.now,
  };
  await insertJob(tx, row);
  await appendAudit(tx, audit, {
    tenantId,
    action: "retraining.request",
    targets: [{ type: "retraining_job", id: row.id }],
    details: { trigger: row.trigger, reason: row.reason, alertId: row.alertId },
  });
  return row;
}

/** A person's (or pipeline's) request for a job now; 409 while one is queued or running. */
export async function requestJob(
  db: Db,
  audit: AuditContext,
  tenantId: string,
  reason: string | undefined,
): Promise<RetrainingJob> {
  const row = await writeTransaction(db, async (tx) => {
    const policy = await getRetrainingPolicy(tx, tenantId);
    if (policy.dataSource === null) {
      throw new ChurnError(
        "CONFLICT",
        "The retraining policy has no data source; set one with PUT /v1/retraining/policy first",
      );
    }
    const open = await openJobOf(tx, tenantId);
    if (open) throw new ChurnError("CONFLICT", `Retraining job '${open.id}' is already ${open.state}`);
    return requestJobInTx(tx, audit, tenantId, policy, {
      trigger: "manual",
      reason: reason ?? null,
      now: Date.now(),
    });
  });
  return toJob(row);
}

export async function listJobs(db: Db, tenantId: string, limit = 50): Promise<RetrainingJob[]> {
  return (await newestJobs(db, tenantId, limit)).map(toJob);
}

export async function getJobRow(db: DbOrTx, tenantId: string, jobId: string): Promise<RetrainingJobRow> {
  const row = await tenantJob(db, tenantId, jobId);
  if (!row) throw new ChurnError("NOT_FOUND", `Retraining job '${jobId}' not found`);
  return row;
}

/**
 * Fails, with the reason, every running job whose lease expired after its last allowed attempt. Returns
 * the jobs failed. `tenantId` narrows it to one tenant (the claim path); the scheduler passes none.
 */
export async function failExhaustedJobs(tx: DbOrTx, now: number, tenantId?: string): Promise<string[]> {
  const exhausted = await exhaustedJobs(tx, now, tenantId);
  for (const job of exhausted) {
    const reason = `lease expired on attempt ${job.attempts} of ${job.maxAttempts} (worker ${job.worker ?? "unknown"} stopped reporting)`;
    await updateJob(tx, job.id, { state: "failed", failureReason: reason, leaseToken: null, updatedAt: now });
    await appendAudit(tx, SCHEDULER_AUDIT, {
      tenantId: job.tenantId,
      action: "retraining.fail",
      targets: [{ type: "retraining_job", id: job.id }],
      details: { reason, attempts: job.attempts },
    });
  }
  return exhausted.map((j) => j.id);
}

/**
 * Leases the tenant's oldest claimable job to a worker: queued, or running under an expired lease with
 * attempts left. One conditional UPDATE takes it, so two workers never hold it at once; a re-claim issues
 * a new lease token, which is what refuses a stale worker's later reports.
 */
export async function claimJob(
  db: Db,
  audit: AuditContext,
  tenantId: string,
  worker: string,
  now = Date.now(),
): Promise<RetrainingClaim | null> {
  return writeTransaction(db, async (tx) => {
    await failExhaustedJobs(tx, now, tenantId);
    const policy = await getRetrainingPolicy(tx, tenantId);
    const leaseToken = `lease_${randomBytes(24).toString("base64url")}`;
    const leaseExpiresAt = now + policy.leaseSeconds * 1000;
    const row = await leaseOldestClaimable(tx, tenantId, now, {
      leaseToken,
      leaseExpiresAt,
      worker,
      productionVersionId: await productionVersionIdOf(tx, tenantId),
    });
    if (!row) return null;
    await appendAudit(tx, audit, {
      tenantId,
      action: "retraining.claim",
      targets: [{ type: "retraining_job", id: row.id }],
      details: { worker, attempt: row.attempts, leaseExpiresAt: toIso(leaseExpiresAt) },
    });
    let production: RetrainingClaim["production"] = null;
    if (row.productionVersionId) {
      const version = await getTenantVersion(tx, tenantId, row.productionVersionId);
      production = {
        versionId: version.row.id,
        name: version.name,
        version: version.row.version,
        manifest: manifestOf(version.row),
      };
    }
    return {
      job: toJob(row),
      leaseToken,
      leaseExpiresAt: toIso(leaseExpiresAt),
      leaseSeconds: policy.leaseSeconds,
      policy,
      production,
    };
  });
}

/**
 * The job, if `leaseToken` still holds it: running, same token, lease not expired. Anything else is 409:
 * the lease was lost (expired, or re-claimed by another worker) and the caller must stop.
 */
export async function heldJob(
  tx: DbOrTx,
  tenantId: string,
  jobId: string,
  leaseToken: string,
  now: number,
): Promise<RetrainingJobRow> {
  const row = await getJobRow(tx, tenantId, jobId);
  if (row.state !== "running" || row.leaseToken !== leaseToken) {
    throw new ChurnError(
      "CONFLICT",
      `Lease on job '${jobId}' is not held: the job is ${row.state}${row.state === "running" ? " under another worker's lease" : ""}`,
    );
  }
  if ((row.leaseExpiresAt ?? 0) < now) {
    throw new ChurnError("CONFLICT", `Lease on job '${jobId}' expired at ${toIso(row.leaseExpiresAt ?? 0)}`);
  }
  return row;
}

export async function heartbeatJob(
  db: Db,
  tenantId: string,
  jobId: string,
  leaseToken: string,
  now = Date.now(),
): Promise<{ leaseExpiresAt: string }> {
  return writeTransaction(db, async (tx) => {
    await heldJob(tx, tenantId, jobId, leaseToken, now);
    const policy = await getRetrainingPolicy(tx, tenantId);
    const leaseExpiresAt = now + policy.leaseSeconds * 1000;
    await updateJob(tx, jobId, { leaseExpiresAt, updatedAt: now });
    return { leaseExpiresAt: toIso(leaseExpiresAt) };
  });
}

/** The worker gives up: the job fails with its reason (a failed job is not retried; request another). */
export async function failJob(
  db: Db,
  audit: AuditContext,
  tenantId: string,
  jobId: string,
  leaseToken: string,
  reason: string,
  now = Date.now(),
): Promise<RetrainingJob> {
  return writeTransaction(db, async (tx) => {
    const row = await heldJob(tx, tenantId, jobId, leaseToken, now);
    const failed = await updateJob(tx, row.id, {
      state: "failed",
      failureReason: reason,
      leaseToken: null,
      updatedAt: now,
    });
    await appendAudit(tx, audit, {
      tenantId,
      action: "retraining.fail",
      targets: [{ type: "retraining_job", id: row.id }],
      details: { reason, attempt: row.attempts },
    });
    return toJob(failed!);
  });
}
