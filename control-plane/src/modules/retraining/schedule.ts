import { HOUR_MS } from "#shared/time.ts";
import type { Db } from "../../platform/db/client.ts";
import { writeTransaction } from "../../platform/db/write-transaction.ts";
import { SCHEDULER_AUDIT } from "../audit/audit.ts";
import { openJobOf, requestJobInTx } from "./jobs.ts";
import { getRetrainingPolicy } from "./policy.ts";
import { policyRow, setLastScheduledAt, tenantsWithPolicy } from "./queries/policy.ts";

/** Queues a job for every `schedule` policy whose interval has passed since its last scheduled run. */
export async function queueScheduledJobs(db: Db, now: number): Promise<string[]> {
  const queued: string[] = [];
  for (const tenantId of await tenantsWithPolicy(db)) {
    const jobId = await writeTransaction(db, async (tx) => {
      const row = await policyRow(tx, tenantId);
      const policy = await getRetrainingPolicy(tx, tenantId);
      if (!row || policy.trigger !== "schedule") return null;
      if (row.lastScheduledAt !== null && now - row.lastScheduledAt < policy.everyHours * HOUR_MS)
        return null;
      await setLastScheduledAt(tx, tenantId, now);
      if (policy.dataSource === null || (await openJobOf(tx, tenantId))) return null;
      const job = await requestJobInTx(tx, SCHEDULER_AUDIT, tenantId, policy, {
        trigger: "schedule",
        reason: `every ${policy.everyHours} h`,
        now,
      });
      return job.id;
    });
    if (jobId) queued.push(jobId);
  }
  return queued;
}
