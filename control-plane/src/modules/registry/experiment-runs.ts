import { and, asc, eq } from "drizzle-orm";
import { ChurnError } from "#shared/errors.ts";
import type { ExperimentRun, ExperimentRunInput } from "#shared/experiments.ts";
import { randomToken } from "#shared/ids.ts";
import { toIso } from "#shared/time.ts";
import type { Db, DbOrTx } from "../../platform/db/client.ts";
import {
  type ExperimentRunRow,
  experimentRuns,
  models,
  modelVersions,
} from "../../platform/db/schema/index.ts";

const newRunId = () => `run_${randomToken(20)}`;

/** Stores a publish's runs, linked to the version it created; called inside that publish's transaction. */
export async function insertExperimentRuns(
  tx: DbOrTx,
  tenantId: string,
  modelVersionId: string,
  runs: ExperimentRunInput[],
): Promise<void> {
  if (runs.length === 0) return;
  const createdAt = Date.now();
  await tx.insert(experimentRuns).values(
    runs.map((run, position) => ({
      id: newRunId(),
      tenantId,
      modelVersionId,
      family: run.family,
      params: JSON.stringify(run.params),
      metrics: JSON.stringify(run.cvMetrics),
      seconds: run.seconds,
      position,
      createdAt,
    })),
  );
}

function toExperimentRun(row: ExperimentRunRow): ExperimentRun {
  return {
    id: row.id,
    modelVersionId: row.modelVersionId,
    family: row.family,
    params: JSON.parse(row.params) as Record<string, unknown>,
    cvMetrics: JSON.parse(row.metrics) as Record<string, number>,
    seconds: row.seconds,
    createdAt: toIso(row.createdAt),
  };
}

/** The runs behind version `version` of the tenant's model `name`; unknown or foreign → 404. */
export async function listRunsOfVersion(
  db: Db,
  tenantId: string,
  name: string,
  version: number,
): Promise<ExperimentRun[]> {
  const [found] = await db
    .select({ id: modelVersions.id })
    .from(modelVersions)
    .innerJoin(models, eq(models.id, modelVersions.modelId))
    .where(and(eq(models.tenantId, tenantId), eq(models.name, name), eq(modelVersions.version, version)))
    .limit(1);
  if (!found) throw new ChurnError("NOT_FOUND", `Model '${name}' has no version ${version}`);
  const rows = await db
    .select()
    .from(experimentRuns)
    .where(and(eq(experimentRuns.tenantId, tenantId), eq(experimentRuns.modelVersionId, found.id)))
    .orderBy(asc(experimentRuns.createdAt), asc(experimentRuns.position));
  return rows.map(toExperimentRun);
}
