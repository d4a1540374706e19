import { and, desc, eq, gte, inArray, isNotNull, lt, sql } from "drizzle-orm";
import type { DbOrTx } from "../../../platform/db/client.ts";
import {
  deployments,
  modelVersions,
  monitoringHourly,
  predictions,
} from "../../../platform/db/schema/index.ts";

/** What monitoring reads back: hourly aggregates, labeled predictions and the version being served. */

/** The production version of the tenant's deployment, with its number. */
export async function productionVersionRow(db: DbOrTx, tenantId: string) {
  const [row] = await db
    .select({ versionId: modelVersions.id, version: modelVersions.version })
    .from(deployments)
    .innerJoin(
      modelVersions,
      and(eq(modelVersions.id, deployments.productionVersionId), eq(modelVersions.tenantId, tenantId)),
    )
    .where(eq(deployments.tenantId, tenantId))
    .limit(1);
  return row;
}

export async function manifestText(
  db: DbOrTx,
  tenantId: string,
  versionId: string,
): Promise<string | undefined> {
  const [row] = await db
    .select({ manifest: modelVersions.manifest })
    .from(modelVersions)
    .where(and(eq(modelVersions.id, versionId), eq(modelVersions.tenantId, tenantId)))
    .limit(1);
  return row?.manifest;
}

/** One version's hourly counts in [fromHour, toHour), oldest first (without the sketches). */
export function hourCounts(
  db: DbOrTx,
  tenantId: string,
  versionId: string,
  fromHour: number,
  toHour: number,
) {
  return db
    .select({
      hour: monitoringHourly.hour,
      records: monitoringHourly.records,
      contacts: monitoringHourly.contacts,
      rejectedRecords: monitoringHourly.rejectedRecords,
      variants: monitoringHourly.variants,
    })
    .from(monitoringHourly)
    .where(
      and(
        eq(monitoringHourly.tenantId, tenantId),
        eq(monitoringHourly.versionId, versionId),
        gte(monitoringHourly.hour, fromHour),
        lt(monitoringHourly.hour, toHour),
      ),
    )
    .orderBy(monitoringHourly.hour);
}

/** The sketches of the given hours of one version. */
export function hourSketchRows(db: DbOrTx, tenantId: string, versionId: string, hours: number[]) {
  return db
    .select({
      hour: monitoringHourly.hour,
      records: monitoringHourly.records,
      sketch: monitoringHourly.sketch,
    })
    .from(monitoringHourly)
    .where(
      and(
        eq(monitoringHourly.tenantId, tenantId),
        eq(monitoringHourly.versionId, versionId),
        inArray(monitoringHourly.hour, hours),
      ),
    );
}

/** One version's labeled predictions made in [from, to). */
export function labeledPredictions(
  db: DbOrTx,
  tenantId: string,
  versionId: string,
  from: number,
  to: number,
) {
  return db
    .select({
      probability: predictions.probability,
      label: predictions.label,
      predictedAt: predictions.predictedAt,
    })
    .from(predictions)
    .where(
      and(
        eq(predictions.tenantId, tenantId),
        gte(predictions.predictedAt, from),
        lt(predictions.predictedAt, to),
        eq(predictions.versionId, versionId),
        isNotNull(predictions.label),
      ),
    );
}

/** Deployed tenants, busiest first by records over the last day (since `sinceHour`). */
export function busiestDeployedTenants(db: DbOrTx, sinceHour: number, limit: number) {
  return db
    .select({ tenantId: deployments.tenantId })
    .from(deployments)
    .leftJoin(
      monitoringHourly,
      and(sql`${monitoringHourly.tenantId} = ${deployments.tenantId}`, gte(monitoringHourly.hour, sinceHour)),
    )
    .groupBy(deployments.tenantId)
    .orderBy(desc(sql`coalesce(sum(${monitoringHourly.records}), 0)`), deployments.tenantId)
    .limit(limit);
}

/** Every tenant's per-variant totals of one hour. */
export function variantsOfHour(db: DbOrTx, hour: number) {
  return db
    .select({ tenantId: monitoringHourly.tenantId, variants: monitoringHourly.variants })
    .from(monitoringHourly)
    .where(sql`${monitoringHourly.hour} = ${hour}`);
}
