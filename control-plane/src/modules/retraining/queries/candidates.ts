import { and, desc, eq, gte, inArray, sql } from "drizzle-orm";
import type { DbOrTx } from "../../../platform/db/client.ts";
import {
  type DeploymentRow,
  deployments,
  predictions,
  type RetrainingCandidateRow,
  retrainingCandidates,
} from "../../../platform/db/schema/index.ts";

/** Retraining candidates, the deployment they race against, and the canary's scored traffic. */

export async function deploymentRow(db: DbOrTx, tenantId: string): Promise<DeploymentRow | undefined> {
  const [deployment] = await db.select().from(deployments).where(eq(deployments.tenantId, tenantId)).limit(1);
  return deployment;
}

export async function insertCandidate(tx: DbOrTx, row: RetrainingCandidateRow): Promise<void> {
  await tx.insert(retrainingCandidates).values(row);
}

export function newestCandidates(
  db: DbOrTx,
  tenantId: string,
  limit: number,
): Promise<RetrainingCandidateRow[]> {
  return db
    .select()
    .from(retrainingCandidates)
    .where(eq(retrainingCandidates.tenantId, tenantId))
    .orderBy(desc(retrainingCandidates.createdAt), desc(retrainingCandidates.id))
    .limit(limit);
}

export async function tenantCandidate(
  db: DbOrTx,
  tenantId: string,
  id: string,
): Promise<RetrainingCandidateRow | undefined> {
  const [row] = await db
    .select()
    .from(retrainingCandidates)
    .where(and(eq(retrainingCandidates.id, id), eq(retrainingCandidates.tenantId, tenantId)))
    .limit(1);
  return row;
}

export async function candidateState(
  tx: DbOrTx,
  id: string,
): Promise<RetrainingCandidateRow["state"] | undefined> {
  const [current] = await tx
    .select({ state: retrainingCandidates.state })
    .from(retrainingCandidates)
    .where(eq(retrainingCandidates.id, id))
    .limit(1);
  return current?.state;
}

export async function updateCandidate(
  tx: DbOrTx,
  id: string,
  fields: Pick<RetrainingCandidateRow, "state" | "decidedAt" | "reason">,
): Promise<void> {
  await tx.update(retrainingCandidates).set(fields).where(eq(retrainingCandidates.id, id));
}

/** Candidates in canary, across tenants (the scheduler's check). */
export function canaryCandidates(db: DbOrTx): Promise<RetrainingCandidateRow[]> {
  return db.select().from(retrainingCandidates).where(eq(retrainingCandidates.state, "canary"));
}

/**
 * Predictions of the given versions since `since`, binned by probability on `bins` bins per version and
 * variant, with counts and probability sums (the rows never leave the database).
 */
export function binnedScores(
  db: DbOrTx,
  tenantId: string,
  versionIds: string[],
  since: number,
  bins: number,
) {
  const bin = sql<number>`min(${bins - 1}, max(0, cast(${predictions.probability} * ${bins} as integer)))`;
  return db
    .select({
      versionId: predictions.versionId,
      variant: predictions.variant,
      bin,
      n: sql<number>`count(*)`,
      sum: sql<number>`sum(${predictions.probability})`,
    })
    .from(predictions)
    .where(
      and(
        eq(predictions.tenantId, tenantId),
        gte(predictions.predictedAt, since),
        inArray(predictions.versionId, versionIds),
      ),
    )
    .groupBy(predictions.versionId, predictions.variant, bin);
}
