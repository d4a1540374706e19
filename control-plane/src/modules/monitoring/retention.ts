import { DAY_MS, HOUR_MS } from "#shared/time.ts";
import type { Db } from "../../platform/db/client.ts";
import { writeTransaction } from "../../platform/db/write-transaction.ts";
import type { Deps } from "../../platform/env.ts";
import { Lease } from "../../platform/lease.ts";
import { LABEL_WINDOW_DAYS } from "./ingest.ts";
import { allTenantIds, deleteOlderThan } from "./queries/retention.ts";
import { getMonitoringSettings } from "./settings.ts";

/**
 * Platform retention of predictions (with their labels): a year of predictions plus the label window, so
 * the last year's predictions can still receive their outcomes and realized performance can look back.
 */
export const PREDICTION_RETENTION_DAYS = 365 + LABEL_WINDOW_DAYS;
/** Hourly aggregates are small; two years keep year-over-year drift charts possible. */
export const HOURLY_RETENTION_DAYS = 730;
/**
 * Delivered event ids are kept to recognise a redelivery. Cloudflare Queues keep a message at most 14 days,
 * so after 30 days no redelivery can arrive; an operator replaying the dead-letter queue must do it sooner.
 */
export const INGESTED_EVENT_RETENTION_DAYS = 30;
/**
 * An erasure's tombstones drop queued events made before it; after as long as a redelivery can arrive, none
 * of those can, and the hash of the customer id (pseudonymous data itself) is not kept longer.
 */
export const ERASURE_TOMBSTONE_RETENTION_DAYS = INGESTED_EVENT_RETENTION_DAYS;
/** How often the control plane runs `runMonitoringRetention` on its own. */
export const MAINTENANCE_INTERVAL_MS = HOUR_MS;

export interface RetentionResult {
  rawRecords: number;
  predictions: number;
  hours: number;
  pendingFeedback: number;
  ingestedEvents: number;
  erasureTombstones: number;
}

/**
 * Deletes what monitoring no longer may or need keep: raw records past each tenant's retention (whether or
 * not capture is still enabled), predictions and hourly aggregates past the platform's retention, and
 * pending feedback older than the label window (its prediction can no longer arrive in time),
 * delivered-event ids older than any redelivery, and erasure tombstones as old. Each tenant
 * is its own short transaction, so ingest is never blocked for long. Safe to run from any scheduler.
 */
export async function runMonitoringRetention(db: Db, now = Date.now()): Promise<RetentionResult> {
  const result: RetentionResult = {
    rawRecords: 0,
    predictions: 0,
    hours: 0,
    pendingFeedback: 0,
    ingestedEvents: 0,
    erasureTombstones: 0,
  };
  for (const tenantId of await allTenantIds(db)) {
    const settings = await getMonitoringSettings(db, tenantId);
    const counts = await writeTransaction(db, (tx) =>
      deleteOlderThan(tx, tenantId, {
        rawRecords: now - settings.rawRecords.retentionDays * DAY_MS,
        predictions: now - PREDICTION_RETENTION_DAYS * DAY_MS,
        hours: now - HOURLY_RETENTION_DAYS * DAY_MS,
        pendingFeedback: now - LABEL_WINDOW_DAYS * DAY_MS,
        ingestedEvents: now - INGESTED_EVENT_RETENTION_DAYS * DAY_MS,
        erasureTombstones: now - ERASURE_TOMBSTONE_RETENTION_DAYS * DAY_MS,
      }),
    );
    for (const key of Object.keys(result) as (keyof RetentionResult)[]) result[key] += counts[key];
  }
  return result;
}

export interface Maintenance {
  /** The database lease each run takes first. */
  lease: Lease;
  stop(): void;
}

/**
 * Runs `runMonitoringRetention` every `intervalMs` on an unref'd timer (it never keeps the process alive);
 * a run still going when the next is due is not overlapped.
 */
/** The lease the hourly retention runs under: one process on the database deletes at a time. */
export const RETENTION_LEASE = "monitoring-retention";

export function startMonitoringMaintenance(
  deps: Pick<Deps, "db" | "log">,
  intervalMs = MAINTENANCE_INTERVAL_MS,
): Maintenance {
  // Held for two intervals: if its holder stops, another process takes the next run over.
  const lease = new Lease(deps.db, RETENTION_LEASE, 2 * intervalMs);
  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    lease
      .acquire()
      .then(async (held) => {
        if (held)
          deps.log.info({ event: "monitoring.retention", ...(await runMonitoringRetention(deps.db)) });
      })
      .catch((err: unknown) =>
        deps.log.error({
          event: "monitoring.retention_failed",
          error: err instanceof Error ? err.message : String(err),
        }),
      )
      .finally(() => {
        running = false;
      });
  }, intervalMs);
  timer.unref();
  return { lease, stop: () => clearInterval(timer) };
}
