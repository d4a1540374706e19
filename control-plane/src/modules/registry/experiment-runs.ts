import { ChurnError } from "#shared/errors.ts";
import type { ExperimentRun, ExperimentRunInput } from "#shared/experiments.ts";
import { randomToken } from "#shared/ids.ts";
import { toIso } from "#shared/time.ts";
import type { Db, DbOrTx } from "../../platform/db/client.ts";
import type { ExperimentRunRow } from "../../platform/db/schema/index.ts";
import { insertRuns, runsOfVersion, versionIdByNumber } from "./queries.ts";

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
  await insertRuns(
    tx,
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
  const versionId = await versionIdByNumber(db, tenantId, name, version);
  if (!versionId) throw new ChurnError("NOT_FOUND", `Model '${name}' has no version ${version}`);
  return (await runsOfVersion(db, tenantId, versionId)).map(toExperimentRun);
}
