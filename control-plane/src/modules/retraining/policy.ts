import { eq } from "drizzle-orm";
import { type RetrainingPolicy, retrainingPolicySchema } from "#shared/retraining.ts";
import { toIso } from "#shared/time.ts";
import type { Db, DbOrTx } from "../../platform/db/client.ts";
import { retrainingPolicies } from "../../platform/db/schema/index.ts";
import { type AuditContext, appendAudit } from "../audit/audit.ts";

/** The tenant's retraining policy; the defaults (manual, no data source) until the tenant sets one. */
export async function getRetrainingPolicy(db: DbOrTx, tenantId: string): Promise<RetrainingPolicy> {
  return (await getRetrainingPolicyWithTime(db, tenantId)).policy;
}

export async function getRetrainingPolicyWithTime(
  db: DbOrTx,
  tenantId: string,
): Promise<{ policy: RetrainingPolicy; updatedAt: string | null; lastScheduledAt: number | null }> {
  const [row] = await db
    .select()
    .from(retrainingPolicies)
    .where(eq(retrainingPolicies.tenantId, tenantId))
    .limit(1);
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
  await db.transaction(
    async (tx) => {
      const before = await getRetrainingPolicyWithTime(tx, tenantId);
      const scheduleChanged =
        before.policy.trigger !== policy.trigger || before.policy.everyHours !== policy.everyHours;
      const lastScheduledAt = scheduleChanged ? now : before.lastScheduledAt;
      const text = JSON.stringify(policy);
      await tx
        .insert(retrainingPolicies)
        .values({ tenantId, policy: text, lastScheduledAt, updatedAt: now })
        .onConflictDoUpdate({
          target: retrainingPolicies.tenantId,
          set: { policy: text, lastScheduledAt, updatedAt: now },
        });
      await appendAudit(tx, audit, {
        tenantId,
        action: "retraining.policy.update",
        targets: [{ type: "tenant", id: tenantId }],
        details: { from: before.updatedAt === null ? null : before.policy, to: policy },
      });
    },
    { behavior: "immediate" },
  );
  return { ...policy, updatedAt: toIso(now) };
}
