import { and, asc, desc, eq, type SQL, sql } from "drizzle-orm";
import type { Db, DbOrTx } from "../../platform/db/client.ts";
import { preparedPerDatabase } from "../../platform/db/prepared.ts";
import {
  type ExperimentRunRow,
  experimentRuns,
  type ModelVersionRow,
  models,
  modelVersionArtifacts,
  modelVersions,
} from "../../platform/db/schema/index.ts";

/** The registry's queries: models, their immutable versions, stored artefacts and experiment runs. */

/**
 * Whether a version carries a report, for selecting beside its row. `typeof` reads only the artifact
 * record's header, never the blobs, so listings stay as cheap as before.
 */
const hasReportSql: SQL<number> = sql<number>`coalesce((select typeof(${modelVersionArtifacts.report}) = 'blob' from ${modelVersionArtifacts} where ${modelVersionArtifacts.modelVersionId} = ${modelVersions.id}), 0)`;

/** A version row with whether it carries a report. */
export interface VersionWithReport {
  version: ModelVersionRow;
  hasReport: number;
}

export async function modelIdByName(tx: DbOrTx, tenantId: string, name: string): Promise<string | undefined> {
  const [model] = await tx
    .select({ id: models.id })
    .from(models)
    .where(and(eq(models.tenantId, tenantId), eq(models.name, name)))
    .limit(1);
  return model?.id;
}

/** The same lookup prepared once per database, for the version listing's hot path. */
export const modelIdByNamePrepared = preparedPerDatabase((db: Db) =>
  db
    .select({ id: models.id })
    .from(models)
    .where(and(eq(models.tenantId, sql.placeholder("tenantId")), eq(models.name, sql.placeholder("name"))))
    .limit(1)
    .prepare(),
);

export async function insertModel(tx: DbOrTx, row: typeof models.$inferInsert): Promise<void> {
  await tx.insert(models).values(row);
}

export function tenantModels(db: DbOrTx, tenantId: string) {
  return db.select().from(models).where(eq(models.tenantId, tenantId)).orderBy(asc(models.name));
}

export async function latestVersionNumber(tx: DbOrTx, modelId: string): Promise<number> {
  const [last] = await tx
    .select({ version: modelVersions.version })
    .from(modelVersions)
    .where(eq(modelVersions.modelId, modelId))
    .orderBy(desc(modelVersions.version))
    .limit(1);
  return last?.version ?? 0;
}

/** The latest version number of a model, prepared: the listing's cache key. */
export const latestVersionPrepared = preparedPerDatabase((db: Db) =>
  db
    .select({ version: modelVersions.version })
    .from(modelVersions)
    .where(eq(modelVersions.modelId, sql.placeholder("modelId")))
    .orderBy(desc(modelVersions.version))
    .limit(1)
    .prepare(),
);

/** A model's newest 100 versions, prepared, for the listing. */
export const newestVersionsPrepared = preparedPerDatabase((db: Db) =>
  db
    .select({ version: modelVersions, hasReport: hasReportSql })
    .from(modelVersions)
    .where(
      and(
        eq(modelVersions.modelId, sql.placeholder("modelId")),
        eq(modelVersions.tenantId, sql.placeholder("tenantId")),
      ),
    )
    .orderBy(desc(modelVersions.version))
    .limit(100)
    .prepare(),
);

export function newestVersions(
  db: DbOrTx,
  tenantId: string,
  modelId: string,
  limit: number,
): Promise<VersionWithReport[]> {
  return db
    .select({ version: modelVersions, hasReport: hasReportSql })
    .from(modelVersions)
    .where(and(eq(modelVersions.modelId, modelId), eq(modelVersions.tenantId, tenantId)))
    .orderBy(desc(modelVersions.version))
    .limit(limit);
}

/** Stores a version with its bytes (and optional explainer and report) in one step of a transaction. */
export async function insertVersion(
  tx: DbOrTx,
  row: ModelVersionRow,
  artefacts: { onnx: Uint8Array; explainer?: Uint8Array | undefined; report?: Uint8Array | undefined },
): Promise<void> {
  await tx.insert(modelVersions).values(row);
  await tx.insert(modelVersionArtifacts).values({
    modelVersionId: row.id,
    onnx: Buffer.from(artefacts.onnx),
    explainer: artefacts.explainer ? Buffer.from(artefacts.explainer) : null,
    report: artefacts.report ? Buffer.from(artefacts.report) : null,
  });
}

export async function versionBySha(
  db: DbOrTx,
  tenantId: string,
  name: string,
  sha256: string,
): Promise<VersionWithReport | undefined> {
  const [row] = await db
    .select({ version: modelVersions, hasReport: hasReportSql })
    .from(modelVersions)
    .innerJoin(models, eq(models.id, modelVersions.modelId))
    .where(and(eq(models.tenantId, tenantId), eq(models.name, name), eq(modelVersions.sha256, sha256)))
    .limit(1);
  return row;
}

export async function tenantVersion(
  db: DbOrTx,
  tenantId: string,
  versionId: string,
): Promise<{ version: ModelVersionRow; name: string } | undefined> {
  const [row] = await db
    .select({ version: modelVersions, name: models.name })
    .from(modelVersions)
    .innerJoin(models, eq(models.id, modelVersions.modelId))
    .where(and(eq(modelVersions.id, versionId), eq(modelVersions.tenantId, tenantId)))
    .limit(1);
  return row;
}

/** The id and report of version `version` of the tenant's model `name`. */
export async function versionReport(
  db: DbOrTx,
  tenantId: string,
  name: string,
  version: number,
): Promise<{ id: string; report: Buffer | null } | undefined> {
  const [row] = await db
    .select({ id: modelVersions.id, report: modelVersionArtifacts.report })
    .from(modelVersions)
    .innerJoin(models, eq(models.id, modelVersions.modelId))
    .innerJoin(modelVersionArtifacts, eq(modelVersionArtifacts.modelVersionId, modelVersions.id))
    .where(
      and(
        eq(models.tenantId, tenantId),
        eq(modelVersions.tenantId, tenantId),
        eq(models.name, name),
        eq(modelVersions.version, version),
      ),
    )
    .limit(1);
  return row;
}

/** A version's stored ONNX bytes; the caller has already checked the version is the tenant's. */
export async function versionOnnx(db: DbOrTx, versionId: string): Promise<Buffer | undefined> {
  const [artifact] = await db
    .select({ onnx: modelVersionArtifacts.onnx })
    .from(modelVersionArtifacts)
    .where(eq(modelVersionArtifacts.modelVersionId, versionId))
    .limit(1);
  return artifact?.onnx;
}

export async function versionIdByNumber(
  db: DbOrTx,
  tenantId: string,
  name: string,
  version: number,
): Promise<string | undefined> {
  const [found] = await db
    .select({ id: modelVersions.id })
    .from(modelVersions)
    .innerJoin(models, eq(models.id, modelVersions.modelId))
    .where(and(eq(models.tenantId, tenantId), eq(models.name, name), eq(modelVersions.version, version)))
    .limit(1);
  return found?.id;
}

export async function insertRuns(tx: DbOrTx, rows: (typeof experimentRuns.$inferInsert)[]): Promise<void> {
  await tx.insert(experimentRuns).values(rows);
}

export function runsOfVersion(db: DbOrTx, tenantId: string, versionId: string): Promise<ExperimentRunRow[]> {
  return db
    .select()
    .from(experimentRuns)
    .where(and(eq(experimentRuns.tenantId, tenantId), eq(experimentRuns.modelVersionId, versionId)))
    .orderBy(asc(experimentRuns.createdAt), asc(experimentRuns.position));
}
