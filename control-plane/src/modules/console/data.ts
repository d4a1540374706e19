import { and, asc, desc, eq, gte, lt, lte, type SQL, sql } from "drizzle-orm";
import type { AuditAction, AuditEntry } from "#shared/audit.ts";
import { ChurnError } from "#shared/errors.ts";
import type { Deployment, ModelVersion } from "#shared/registry.ts";
import { HOUR_MS } from "#shared/time.ts";
import type { Db } from "../../platform/db/client.ts";
import { auditLog, models, modelVersions, predictions } from "../../platform/db/schema/index.ts";
import { toAuditEntry } from "../audit/audit-chain.ts";
import { getDeployment } from "../deployments/deployments.ts";
import { hasReportSql, toModelVersion } from "../registry/registry.ts";

/** Read models for the console's pages. Every query is scoped to the signed-in person's tenant. */

export interface ModelWithVersions {
  id: string;
  name: string;
  versions: ModelVersion[];
}

export async function modelsWithVersions(
  db: Db,
  tenantId: string,
  limitPerModel = 50,
): Promise<ModelWithVersions[]> {
  const rows = await db.select().from(models).where(eq(models.tenantId, tenantId)).orderBy(asc(models.name));
  const out: ModelWithVersions[] = [];
  for (const model of rows) {
    const versions = await db
      .select({ version: modelVersions, hasReport: hasReportSql })
      .from(modelVersions)
      .where(and(eq(modelVersions.modelId, model.id), eq(modelVersions.tenantId, tenantId)))
      .orderBy(desc(modelVersions.version))
      .limit(limitPerModel);
    out.push({
      id: model.id,
      name: model.name,
      versions: versions.map((v) => toModelVersion(v.version, model.name, v.hasReport)),
    });
  }
  return out;
}

/** The tenant's deployment, or null before the first one (the API answers 404 there). */
export async function deploymentOrNull(db: Db, tenantId: string): Promise<Deployment | null> {
  try {
    return await getDeployment(db, tenantId);
  } catch (err) {
    if (err instanceof ChurnError && err.code === "NOT_FOUND") return null;
    throw err;
  }
}

export interface AuditFilter {
  action?: AuditAction | undefined;
  actorId?: string | undefined;
  since?: number | undefined;
  until?: number | undefined;
  cursor?: number | undefined;
  limit: number;
}

/** A page of the audit log, newest first, with the same filters and cursor as GET /v1/audit. */
export async function auditPage(
  db: Db,
  tenantId: string,
  filter: AuditFilter,
): Promise<{ entries: AuditEntry[]; nextCursor: number | null }> {
  const conditions: SQL[] = [eq(auditLog.tenantId, tenantId)];
  if (filter.action) conditions.push(eq(auditLog.action, filter.action));
  if (filter.actorId) conditions.push(eq(auditLog.actorId, filter.actorId));
  if (filter.since !== undefined) conditions.push(gte(auditLog.createdAt, filter.since));
  if (filter.until !== undefined) conditions.push(lte(auditLog.createdAt, filter.until));
  if (filter.cursor !== undefined) conditions.push(lt(auditLog.seq, filter.cursor));
  const rows = await db
    .select()
    .from(auditLog)
    .where(and(...conditions))
    .orderBy(desc(auditLog.seq))
    .limit(filter.limit + 1);
  const page = rows.slice(0, filter.limit);
  return {
    entries: page.map(toAuditEntry),
    nextCursor: rows.length > filter.limit ? page[page.length - 1]!.seq : null,
  };
}

export interface TrafficHour {
  /** Start of the hour, epoch ms. */
  hour: number;
  predictions: number;
  contacts: number;
}

/**
 * Predictions scored per hour over the last `hours` (production and canary alike), from the predictions
 * the edge delivered. Hours without traffic are present with zero.
 */
export async function trafficByHour(
  db: Db,
  tenantId: string,
  now: number,
  hours = 24,
): Promise<TrafficHour[]> {
  const end = Math.floor(now / HOUR_MS) * HOUR_MS + HOUR_MS;
  const start = end - hours * HOUR_MS;
  const rows = await db
    .select({
      // A literal, not a bound parameter: a bound number may arrive as REAL and turn this into float division.
      hour: sql<number>`(${predictions.predictedAt} / ${sql.raw(String(HOUR_MS))}) * ${sql.raw(String(HOUR_MS))}`,
      predictions: sql<number>`count(*)`,
      contacts: sql<number>`sum(${predictions.contact})`,
    })
    .from(predictions)
    .where(
      and(
        eq(predictions.tenantId, tenantId),
        gte(predictions.predictedAt, start),
        lt(predictions.predictedAt, end),
      ),
    )
    .groupBy(sql`1`);
  const byHour = new Map(rows.map((r) => [Number(r.hour), r]));
  const out: TrafficHour[] = [];
  for (let h = start; h < end; h += HOUR_MS) {
    const row = byHour.get(h);
    out.push({ hour: h, predictions: Number(row?.predictions ?? 0), contacts: Number(row?.contacts ?? 0) });
  }
  return out;
}

export interface ScoredWindow {
  predictions: number;
  /** Predictions that said to contact the customer. */
  contacts: number;
  /** Distinct customers (by customerId, else by prediction) the model said to contact. */
  flaggedCustomers: number;
  /** Σ probability over scored customers: the expected number of churners among them. */
  expectedChurners: number;
  /** Σ probability over the predictions that said to contact. */
  expectedChurnersFlagged: number;
}

/** What the edge scored for the tenant since `since`: the base of "flagged this week" and revenue at risk. */
export async function scoredSince(db: Db, tenantId: string, since: number): Promise<ScoredWindow> {
  const [row] = await db
    .select({
      predictions: sql<number>`count(*)`,
      contacts: sql<number>`coalesce(sum(${predictions.contact}), 0)`,
      flagged: sql<number>`count(distinct case when ${predictions.contact} then coalesce(${predictions.customerId}, ${predictions.predictionId}) end)`,
      expected: sql<number>`coalesce(sum(${predictions.probability}), 0)`,
      expectedFlagged: sql<number>`coalesce(sum(case when ${predictions.contact} then ${predictions.probability} else 0 end), 0)`,
    })
    .from(predictions)
    .where(and(eq(predictions.tenantId, tenantId), gte(predictions.predictedAt, since)));
  return {
    predictions: Number(row?.predictions ?? 0),
    contacts: Number(row?.contacts ?? 0),
    flaggedCustomers: Number(row?.flagged ?? 0),
    expectedChurners: Number(row?.expected ?? 0),
    expectedChurnersFlagged: Number(row?.expectedFlagged ?? 0),
  };
}

/**
 * Scores since `since` on the reference's bins: bin i holds (edges[i-1], edges[i]], the last everything
 * above. Counted on a 1/100 grid in SQL, then folded onto the edges (which sit on that grid).
 */
export async function scoreHistogram(
  db: Db,
  tenantId: string,
  versionId: string,
  since: number,
  edges: number[],
): Promise<number[]> {
  const rows = await db
    .select({
      bin: sql<number>`min(cast(${predictions.probability} * 100 as integer), 99)`,
      n: sql<number>`count(*)`,
    })
    .from(predictions)
    .where(
      and(
        eq(predictions.tenantId, tenantId),
        eq(predictions.versionId, versionId),
        gte(predictions.predictedAt, since),
      ),
    )
    .groupBy(sql`1`);
  const counts = new Array<number>(edges.length + 1).fill(0);
  for (const row of rows) {
    const centre = (Number(row.bin) + 0.5) / 100;
    let i = edges.findIndex((edge) => centre <= edge);
    if (i < 0) i = edges.length;
    counts[i]! += Number(row.n);
  }
  return counts;
}
