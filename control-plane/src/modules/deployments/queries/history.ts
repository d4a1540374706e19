import { and, desc, eq, inArray, lt, lte } from "drizzle-orm";
import type { DbOrTx } from "../../../platform/db/client.ts";
import {
  type DeploymentHistoryRow,
  deploymentHistory,
  models,
  modelVersions,
} from "../../../platform/db/schema/index.ts";

/** The deployment history: one row per revision, from when it started serving. */

/** Name and number of each version id given, within the tenant. */
export function versionNames(db: DbOrTx, tenantId: string, ids: readonly string[]) {
  return db
    .select({ versionId: modelVersions.id, name: models.name, version: modelVersions.version })
    .from(modelVersions)
    .innerJoin(models, eq(models.id, modelVersions.modelId))
    .where(and(eq(modelVersions.tenantId, tenantId), inArray(modelVersions.id, [...ids])));
}

export async function revisionStart(db: DbOrTx, tenantId: string, revision: number): Promise<number | null> {
  const [next] = await db
    .select({ validFrom: deploymentHistory.validFrom })
    .from(deploymentHistory)
    .where(and(eq(deploymentHistory.tenantId, tenantId), eq(deploymentHistory.revision, revision)))
    .limit(1);
  return next?.validFrom ?? null;
}

/** The latest revision that had started by `atMs`. */
export async function revisionAt(
  db: DbOrTx,
  tenantId: string,
  atMs: number,
): Promise<DeploymentHistoryRow | undefined> {
  const [row] = await db
    .select()
    .from(deploymentHistory)
    .where(and(eq(deploymentHistory.tenantId, tenantId), lte(deploymentHistory.validFrom, atMs)))
    .orderBy(desc(deploymentHistory.validFrom), desc(deploymentHistory.revision))
    .limit(1);
  return row;
}

/** Up to `limit` revisions before `cursor` (all when absent), newest first. */
export function revisionsBefore(
  db: DbOrTx,
  tenantId: string,
  cursor: number | undefined,
  limit: number,
): Promise<DeploymentHistoryRow[]> {
  return db
    .select()
    .from(deploymentHistory)
    .where(
      and(
        eq(deploymentHistory.tenantId, tenantId),
        cursor !== undefined ? lt(deploymentHistory.revision, cursor) : undefined,
      ),
    )
    .orderBy(desc(deploymentHistory.revision))
    .limit(limit);
}
