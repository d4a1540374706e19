import type { MonitoringSnapshot, MonitoringTimeseries } from "#shared/monitoring.ts";
import type { Db } from "../../platform/db/client.ts";
import { computeSnapshot, computeTimeseries } from "../monitoring/snapshot.ts";

/**
 * The console reads monitoring through the same computations as GET /v1/monitoring/snapshot and
 * /v1/monitoring/timeseries. Without a live version or any summarised traffic there is nothing to show, so
 * pages get null and render an empty state instead of zeros.
 */
export async function snapshotOrNull(
  db: Db,
  tenantId: string,
  now: number,
  windowHours?: number,
): Promise<MonitoringSnapshot | null> {
  const snapshot = await computeSnapshot(db, tenantId, { now, ...(windowHours ? { windowHours } : {}) });
  return snapshot.versionId === null || snapshot.records === 0 ? null : snapshot;
}

export async function timeseriesOrNull(
  db: Db,
  tenantId: string,
  now: number,
  days: number,
  bucket: "hour" | "day",
): Promise<MonitoringTimeseries | null> {
  const series = await computeTimeseries(db, tenantId, { now, days, bucket });
  return series.versionId === null || series.points.every((p) => p.records === 0) ? null : series;
}
