import { and, desc, eq, lt, sql } from "drizzle-orm";
import type { Db, DbOrTx } from "../../../platform/db/client.ts";
import { preparedPerDatabase } from "../../../platform/db/prepared.ts";
import {
  type DeploymentRow,
  deploymentHistory,
  deployments,
  models,
  modelVersionArtifacts,
  modelVersions,
} from "../../../platform/db/schema/index.ts";

/** A tenant's deployment (one row per tenant), its history rows, and what it points at. */

/** Tenants with a deployment. */
export async function deployedTenantIds(db: DbOrTx): Promise<string[]> {
  return (await db.select({ tenantId: deployments.tenantId }).from(deployments)).map((r) => r.tenantId);
}

export function allDeployments(db: DbOrTx): Promise<DeploymentRow[]> {
  return db.select().from(deployments);
}

export async function deploymentRowOf(db: DbOrTx, tenantId: string): Promise<DeploymentRow | undefined> {
  const [row] = await db.select().from(deployments).where(eq(deployments.tenantId, tenantId)).limit(1);
  return row;
}

/** The same read prepared once per database: deployments are read on every GET and every change. */
export const deploymentPrepared = preparedPerDatabase((db: Db) =>
  db
    .select()
    .from(deployments)
    .where(eq(deployments.tenantId, sql.placeholder("tenantId")))
    .limit(1)
    .prepare(),
);

/** A version's identity (model name, number, sha256) within the tenant, prepared once per database. */
export const versionRefPrepared = preparedPerDatabase((db: Db) =>
  db
    .select({
      versionId: modelVersions.id,
      name: models.name,
      version: modelVersions.version,
      sha256: modelVersions.sha256,
    })
    .from(modelVersions)
    .innerJoin(models, eq(models.id, modelVersions.modelId))
    .where(
      and(
        eq(modelVersions.id, sql.placeholder("versionId")),
        eq(modelVersions.tenantId, sql.placeholder("tenantId")),
      ),
    )
    .limit(1)
    .prepare(),
);

/** A version's stored bytes and explainer. */
export async function versionArtefacts(db: DbOrTx, versionId: string) {
  const [artifact] = await db
    .select()
    .from(modelVersionArtifacts)
    .where(eq(modelVersionArtifacts.modelVersionId, versionId))
    .limit(1);
  return artifact;
}

/** Writes the tenant's deployment row (insert on the first deployment) and its history row. */
export async function writeDeployment(
  tx: DbOrTx,
  next: DeploymentRow,
  exists: boolean,
  history: typeof deploymentHistory.$inferInsert,
): Promise<void> {
  if (exists) await tx.update(deployments).set(next).where(eq(deployments.tenantId, next.tenantId));
  else await tx.insert(deployments).values(next);
  await tx.insert(deploymentHistory).values(history);
}

/** Revisions before `revision`, newest first, with their stored configuration. */
export function revisionsBeforeWithConfig(db: DbOrTx, tenantId: string, revision: number) {
  return db
    .select({ revision: deploymentHistory.revision, config: deploymentHistory.config })
    .from(deploymentHistory)
    .where(and(eq(deploymentHistory.tenantId, tenantId), lt(deploymentHistory.revision, revision)))
    .orderBy(desc(deploymentHistory.revision));
}
