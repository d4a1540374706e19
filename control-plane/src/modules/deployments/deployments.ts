import { ChurnError } from "#shared/errors.ts";
import { newId } from "#shared/ids.ts";
import { type DeployedVersion, type EdgeDeployment, kvKeys } from "#shared/kv.ts";
import type { Deployment, DeploymentRequest } from "#shared/registry.ts";
import { toIso } from "#shared/time.ts";
import type { Db, DbOrTx, Tx } from "../../platform/db/client.ts";
import type { DeploymentRow } from "../../platform/db/schema/index.ts";
import { writeTransaction } from "../../platform/db/write-transaction.ts";
import type { EdgeStore } from "../../platform/edge-store/edge-store.ts";
import { publishCurrent } from "../../platform/edge-store/publish-current.ts";
import { KeyedSerialQueue } from "../../platform/serial-queue.ts";
import { type AuditContext, appendAudit } from "../audit/audit.ts";
import { getTenantVersion } from "../registry/registry.ts";
import {
  allDeployments,
  deployedTenantIds,
  deploymentPrepared,
  deploymentRowOf,
  revisionsBeforeWithConfig,
  versionArtefacts,
  versionRefPrepared,
  writeDeployment,
} from "./queries/deployments.ts";
import { allowUnknownFieldsOf } from "./queries/tenant-settings.ts";

type VersionRef = { versionId: string; name: string; version: number; sha256: string };

async function resolveVersion(db: Db, tenantId: string, versionId: string): Promise<VersionRef> {
  const [ref] = await versionRefPrepared(db).all({ versionId, tenantId });
  if (!ref) throw new ChurnError("NOT_FOUND", `Model version '${versionId}' not found`);
  return ref;
}

/** Writes a version's bytes and manifest under its immutable keys; safe to repeat. */
async function pushVersion(db: Db, edge: EdgeStore, tenantId: string, versionId: string): Promise<void> {
  const { row } = await getTenantVersion(db, tenantId, versionId);
  const artifact = await versionArtefacts(db, row.id);
  if (!artifact) throw new Error(`Model version ${row.id} has no stored bytes`);
  try {
    await edge.put(kvKeys.modelBytes(row.id), new Uint8Array(artifact.onnx));
    if (artifact.explainer) await edge.put(kvKeys.modelExplainer(row.id), new Uint8Array(artifact.explainer));
    // The manifest goes last: the edge treats a version as present once its manifest is.
    await edge.put(kvKeys.modelManifest(row.id), row.manifest);
  } catch (err) {
    // Nothing is committed yet and the pointer still names the previous version: a clean retry.
    throw new ChurnError(
      "UNAVAILABLE",
      `The edge store refused model version ${row.id}; nothing was deployed, retry the deployment`,
      { cause: err },
    );
  }
}

export async function getDeployment(db: Db, tenantId: string): Promise<Deployment> {
  const [row] = await deploymentPrepared(db).all({ tenantId });
  if (!row) throw new ChurnError("NOT_FOUND", "This tenant has no deployment yet");
  return toDeployment(db, row);
}

async function toDeployment(db: Db, row: DeploymentRow): Promise<Deployment> {
  const strip = ({ sha256: _, ...rest }: VersionRef) => rest;
  const production = await resolveVersion(db, row.tenantId, row.productionVersionId);
  const canary = row.canaryVersionId ? await resolveVersion(db, row.tenantId, row.canaryVersionId) : null;
  const shadowIds = JSON.parse(row.shadowVersionIds) as string[];
  const shadows = await Promise.all(shadowIds.map((id) => resolveVersion(db, row.tenantId, id)));
  return {
    tenantId: row.tenantId,
    revision: row.revision,
    production: strip(production),
    canary: canary ? { ...strip(canary), weight: row.canaryWeight ?? 0 } : null,
    shadows: shadows.map(strip),
    updatedAt: toIso(row.updatedAt),
    updatedBy: row.updatedBy,
  };
}

function toEdgeDeployment(
  row: DeploymentRow,
  refs: Map<string, VersionRef>,
  allowUnknownFields: boolean,
): EdgeDeployment {
  const deployed = (id: string): DeployedVersion => {
    const ref = refs.get(id)!;
    return { versionId: ref.versionId, version: ref.version, sha256: ref.sha256 };
  };
  return {
    tenantId: row.tenantId,
    revision: row.revision,
    production: deployed(row.productionVersionId),
    ...(row.canaryVersionId
      ? { canary: { ...deployed(row.canaryVersionId), weight: row.canaryWeight ?? 0 } }
      : {}),
    shadows: (JSON.parse(row.shadowVersionIds) as string[]).map(deployed),
    allowUnknownFields,
    updatedAt: toIso(row.updatedAt),
  };
}

/**
 * Changes what serves a tenant in one atomic step. Order matters for the edge: immutable version blobs
 * first, then the database commit (with history and audit), then the pointer the edge reads, last.
 */
export async function updateDeployment(
  db: Db,
  edge: EdgeStore,
  audit: AuditContext,
  tenantId: string,
  request: DeploymentRequest,
  expectedRevision: number | null,
  action: "deployment.update" | "deployment.rollback" = "deployment.update",
  /** Runs in the deployment's transaction before its audit entry: a change that must commit with it. */
  within?: (tx: Tx, revision: number) => Promise<void>,
): Promise<Deployment> {
  const ids = [request.production, ...(request.canary ? [request.canary.versionId] : []), ...request.shadows];
  const refs = new Map<string, VersionRef>();
  for (const id of ids) refs.set(id, await resolveVersion(db, tenantId, id));
  for (const id of refs.keys()) await pushVersion(db, edge, tenantId, id);

  const row = await writeTransaction(db, async (tx) => {
    const current = await deploymentRowOf(tx, tenantId);
    if (expectedRevision !== null && (current?.revision ?? 0) !== expectedRevision) {
      throw new ChurnError(
        "CONFLICT",
        `Deployment changed since revision ${expectedRevision} (now ${current?.revision ?? 0}); reload and retry`,
      );
    }
    const next: DeploymentRow = {
      tenantId,
      revision: (current?.revision ?? 0) + 1,
      productionVersionId: request.production,
      canaryVersionId: request.canary?.versionId ?? null,
      canaryWeight: request.canary?.weight ?? null,
      shadowVersionIds: JSON.stringify(request.shadows),
      updatedAt: Date.now(),
      updatedBy: `${audit.actor.type}:${audit.actor.id}`,
    };
    await writeDeployment(tx, next, current !== undefined, {
      id: newId("deployment"),
      tenantId,
      revision: next.revision,
      config: JSON.stringify({
        production: next.productionVersionId,
        canary: request.canary ?? null,
        shadows: request.shadows,
      }),
      reason: request.reason ?? null,
      actor: next.updatedBy,
      validFrom: next.updatedAt,
    });
    if (within) await within(tx, next.revision);
    await appendAudit(tx, audit, {
      tenantId,
      action,
      targets: ids.map((id) => ({ type: "model_version", id })),
      details: {
        revision: next.revision,
        from: current
          ? {
              production: current.productionVersionId,
              canary: current.canaryVersionId,
              weight: current.canaryWeight,
            }
          : null,
        to: {
          production: next.productionVersionId,
          canary: next.canaryVersionId,
          weight: next.canaryWeight,
        },
        reason: request.reason ?? null,
      },
    });
    return next;
  });

  await publishPointer(db, edge, tenantId);
  return toDeployment(db, row);
}

const pointerPublishes = new KeyedSerialQueue();

/**
 * Writes `tenant:{id}:deployment`, rebuilt from the database: the current deployment with the tenant's predict
 * settings. A deployment and a settings change both publish it, one at a time per tenant, so whichever
 * commits last is what the edge ends up reading. Without a deployment there is nothing to publish yet; the
 * settings travel with the first one.
 */
export function publishPointer(db: Db, edge: EdgeStore, tenantId: string): Promise<void> {
  return pointerPublishes.run(tenantId, async () => {
    await publishCurrent(
      () => currentPointer(db, tenantId),
      async (text, pointer) => {
        try {
          await edge.put(kvKeys.deployment(tenantId), text);
        } catch (err) {
          throw new ChurnError(
            "UNAVAILABLE",
            `Deployment revision ${pointer.revision} is recorded but the edge store refused it; it is re-sent at the next start-up or deployment`,
            { cause: err },
          );
        }
      },
    );
  });
}

/** The tenant's pointer as the edge should read it now; null without a deployment. */
async function currentPointer(db: Db, tenantId: string): Promise<EdgeDeployment | null> {
  const [row] = await deploymentPrepared(db).all({ tenantId });
  if (!row) return null;
  const tenant = await allowUnknownFieldsOf(db, tenantId);
  const refs = new Map<string, VersionRef>();
  for (const id of deployedIds(row)) refs.set(id, await resolveVersion(db, tenantId, id));
  return toEdgeDeployment(row, refs, tenant?.allowUnknownFields ?? false);
}

const deployedIds = (row: DeploymentRow): string[] => [
  row.productionVersionId,
  ...(row.canaryVersionId ? [row.canaryVersionId] : []),
  ...(JSON.parse(row.shadowVersionIds) as string[]),
];

/** Re-sends every tenant's current deployment to the edge, repairing any pointer write that failed. */
export async function syncDeploymentsToEdge(db: Db, edge: EdgeStore): Promise<number> {
  const rows = await allDeployments(db);
  for (const row of rows) {
    for (const id of deployedIds(row)) await pushVersion(db, edge, row.tenantId, id);
    await publishPointer(db, edge, row.tenantId);
  }
  return rows.length;
}

/** The stored shape of a deployment_history row's `config`. */
export interface HistoryConfig {
  production: string;
  canary: { versionId: string; weight: number } | null;
  shadows: string[];
}

/**
 * Restores the previous production version: that of the latest earlier revision whose production differs
 * from the current one. The canary is cleared, so the restored version serves every request; shadows stay.
 * Goes through updateDeployment, so it is one atomic, audited revision like any PUT, and refuses to land on
 * a deployment that changed since it was read (or since `expectedRevision`, the caller's If-Match).
 */
export async function rollbackDeployment(
  db: Db,
  edge: EdgeStore,
  audit: AuditContext,
  tenantId: string,
  reason: string | undefined,
  expectedRevision: number | null,
): Promise<Deployment> {
  const current = await deploymentRowOf(db, tenantId);
  if (!current) throw new ChurnError("NOT_FOUND", "This tenant has no deployment yet");
  if (expectedRevision !== null && expectedRevision !== current.revision) {
    throw new ChurnError(
      "CONFLICT",
      `Deployment changed since revision ${expectedRevision} (now ${current.revision}); reload and retry`,
    );
  }
  const earlier = await revisionsBeforeWithConfig(db, tenantId, current.revision);
  const target = earlier
    .map((r) => ({ revision: r.revision, config: JSON.parse(r.config) as HistoryConfig }))
    .find((r) => r.config.production !== current.productionVersionId);
  if (!target) {
    throw new ChurnError(
      "NOT_FOUND",
      "No earlier revision served another production version to roll back to",
    );
  }
  return updateDeployment(
    db,
    edge,
    audit,
    tenantId,
    {
      production: target.config.production,
      canary: null,
      shadows: JSON.parse(current.shadowVersionIds) as string[],
      reason: reason ?? `Rollback to the production of revision ${target.revision}`,
    },
    current.revision,
    "deployment.rollback",
  );
}

/** Tenants that have deployed a model: the ones monitoring and alerts look at. */
export function deployedTenants(db: DbOrTx): Promise<string[]> {
  return deployedTenantIds(db);
}
