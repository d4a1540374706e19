import { and, eq, gte, lt, sql } from "drizzle-orm";
import { HOUR_MS } from "#shared/time.ts";
import type { DbOrTx } from "../../../platform/db/client.ts";
import { predictions } from "../../../platform/db/schema/index.ts";

/** Aggregates over the predictions the edge delivered, for the console's traffic and business views. */

/** Predictions and contacts per hour in [start, end), hours without traffic absent. */
export function hourlyTraffic(db: DbOrTx, tenantId: string, start: number, end: number) {
  return db
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
}

export async function scoredTotals(db: DbOrTx, tenantId: string, since: number) {
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
  return row;
}

/** A version's scores since `since`, counted on a 1/100 grid. */
export function scoresOnGrid(db: DbOrTx, tenantId: string, versionId: string, since: number) {
  return db
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
}
