import { and, desc, eq, inArray, lt, or, sql } from "drizzle-orm";
import type { DbOrTx } from "../../../platform/db/client.ts";
import { deployments, type RetrainingJobRow, retrainingJobs } from "../../../platform/db/schema/index.ts";

/** Retraining jobs and their leases. */

export async function openJobRow(db: DbOrTx, tenantId: string): Promise<RetrainingJobRow | undefined> {
  const [row] = await db
    .select()
    .from(retrainingJobs)
    .where(and(eq(retrainingJobs.tenantId, tenantId), inArray(retrainingJobs.state, ["queued", "running"])))
    .limit(1);
  return row;
}

export async function insertJob(tx: DbOrTx, row: RetrainingJobRow): Promise<void> {
  await tx.insert(retrainingJobs).values(row);
}

export function newestJobs(db: DbOrTx, tenantId: string, limit: number): Promise<RetrainingJobRow[]> {
  return db
    .select()
    .from(retrainingJobs)
    .where(eq(retrainingJobs.tenantId, tenantId))
    .orderBy(desc(retrainingJobs.createdAt), desc(retrainingJobs.id))
    .limit(limit);
}

export async function tenantJob(
  db: DbOrTx,
  tenantId: string,
  jobId: string,
): Promise<RetrainingJobRow | undefined> {
  const [row] = await db
    .select()
    .from(retrainingJobs)
    .where(and(eq(retrainingJobs.id, jobId), eq(retrainingJobs.tenantId, tenantId)))
    .limit(1);
  return row;
}

/** Running jobs whose lease expired after their last allowed attempt (of one tenant, or of all). */
export function exhaustedJobs(tx: DbOrTx, now: number, tenantId?: string): Promise<RetrainingJobRow[]> {
  return tx
    .select()
    .from(retrainingJobs)
    .where(
      and(
        eq(retrainingJobs.state, "running"),
        lt(retrainingJobs.leaseExpiresAt, now),
        sql`${retrainingJobs.attempts} >= ${retrainingJobs.maxAttempts}`,
        ...(tenantId ? [eq(retrainingJobs.tenantId, tenantId)] : []),
      ),
    );
}

/** Updates a job and returns it as it now is. */
export async function updateJob(
  tx: DbOrTx,
  jobId: string,
  fields: Partial<Omit<RetrainingJobRow, "id" | "tenantId">>,
): Promise<RetrainingJobRow | undefined> {
  const [row] = await tx.update(retrainingJobs).set(fields).where(eq(retrainingJobs.id, jobId)).returning();
  return row;
}

export async function productionVersionIdOf(tx: DbOrTx, tenantId: string): Promise<string | null> {
  const [current] = await tx
    .select({ production: deployments.productionVersionId })
    .from(deployments)
    .where(eq(deployments.tenantId, tenantId))
    .limit(1);
  return current?.production ?? null;
}

/**
 * Leases the tenant's oldest claimable job (queued, or running under an expired lease with attempts left)
 * in one conditional UPDATE, so two workers never hold it at once. Returns the job as leased.
 */
export async function leaseOldestClaimable(
  tx: DbOrTx,
  tenantId: string,
  now: number,
  lease: { leaseToken: string; leaseExpiresAt: number; worker: string; productionVersionId: string | null },
): Promise<RetrainingJobRow | undefined> {
  const claimable = tx
    .select({ id: retrainingJobs.id })
    .from(retrainingJobs)
    .where(
      and(
        eq(retrainingJobs.tenantId, tenantId),
        or(
          eq(retrainingJobs.state, "queued"),
          and(eq(retrainingJobs.state, "running"), lt(retrainingJobs.leaseExpiresAt, now)),
        ),
        lt(retrainingJobs.attempts, retrainingJobs.maxAttempts),
      ),
    )
    .orderBy(retrainingJobs.createdAt, retrainingJobs.id)
    .limit(1);
  const [row] = await tx
    .update(retrainingJobs)
    .set({ state: "running", attempts: sql`${retrainingJobs.attempts} + 1`, ...lease, updatedAt: now })
    .where(inArray(retrainingJobs.id, claimable))
    .returning();
  return row;
}
