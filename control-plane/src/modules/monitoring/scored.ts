import { HOUR_MS } from "#shared/time.ts";
import type { Db } from "../../platform/db/client.ts";
import { hourlyTraffic, scoredTotals, scoresOnGrid } from "./queries/scored.ts";

/** What the edge scored for a tenant, summarised for the console's overview, business and monitoring pages. */

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
  const rows = await hourlyTraffic(db, tenantId, start, end);
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
  const row = await scoredTotals(db, tenantId, since);
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
  const rows = await scoresOnGrid(db, tenantId, versionId, since);
  const counts = new Array<number>(edges.length + 1).fill(0);
  for (const row of rows) {
    const centre = (Number(row.bin) + 0.5) / 100;
    let i = edges.findIndex((edge) => centre <= edge);
    if (i < 0) i = edges.length;
    counts[i]! += Number(row.n);
  }
  return counts;
}
