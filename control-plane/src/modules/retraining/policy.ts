import { type RetrainingPolicy, retrainingPolicySchema } from "#shared/retraining.ts";
import { toIso } from "#shared/time.ts";
import type { Db, DbOrTx } from "../../platform/db/client.ts";
import { writeTransaction } from "../../platform/db/write-transaction.ts";
import { type AuditContext, appendAudit } from "../audit/audit.ts";
import { policyRow, upsertPolicy } from "./queries/policy.ts";

/** The tenant's retraining policy; the defaults (manual, no data source) until the tenant sets one. */
export async function getRetrainingPolicy(db: DbOrTx, tenantId: string): Promise<RetrainingPolicy> {
  return (await getRetrainingPolicyWithTime(db, tenantId)).policy;
}

export async function getRetrainingPolicyWithTime(
  db: DbOrTx,
  tenantId: string,
): Promise<{ policy: RetrainingPolicy; updatedAt: string | null; lastScheduledAt: number | null }> {
  const row = await policyRow(db, tenantId);
  if (!row) return { policy: retrainingPolicySchema.parse({}), updatedAt: null, lastScheduledAt: null };
  return {
    policy: retrainingPolicySchema.parse(JSON.parse(row.policy)),
    updatedAt: toIso(row.updatedAt),
    lastScheduledAt: row.lastScheduledAt,
  };
}

/** Replaces the policy. A schedule counts from now: the first scheduled job is `everyHours` away. */
export async function putRetrainingPolicy(
  db: Db,
  audit: AuditContext,
  tenantId: string,
  policy: RetrainingPolicy,
): Promise<RetrainingPolicy & { updatedAt: string }> {
  const now = Date.now();
  await writeTransaction(db, async (tx) => {
    const before = await getRetrainingPolicyWithTime(tx, tenantId);
    const scheduleChanged =
      before.policy.trigger !== policy.trigger || before.policy.everyHours !== policy.everyHours;
    const lastScheduledAt = scheduleChanged ? now : before.lastScheduledAt;
    const text = JSON.stringify(policy);
    await upsertPolicy(tx, { tenantId, policy: text, lastScheduledAt, updatedAt: now });
    await appendAudit(tx, audit, {
      tenantId,
      action: "retraining.policy.update",
      targets: [{ type: "tenant", id: tenantId }],
      details: { from: before.updatedAt === null ? null : before.policy, to: policy },
    });
  });
  return { ...policy, updatedAt: toIso(now) };
}
