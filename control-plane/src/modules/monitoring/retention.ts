import { and, eq, lt } from "drizzle-orm";
import { DAY_MS, HOUR_MS } from "#shared/time.ts";
import type { Db } from "../../platform/db/client.ts";
import {
  ingestedEvents,
  monitoringHourly,
  pendingFeedback,
  predictions,
  rawRecords,
  tenants,
} from "../../platform/db/schema/index.ts";
import { writeTransaction } from "../../platform/db/write-transaction.ts";
import type { Deps } from "../../platform/env.ts";
import { LABEL_WINDOW_DAYS } from "./ingest.ts";
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
/** How often the control plane runs `runMonitoringRetention` on its own. */
export const MAINTENANCE_INTERVAL_MS = HOUR_MS;

export interface RetentionResult {
  rawRecords: number;
  predictions: number;
  hours: number;
  pendingFeedback: number;
  ingestedEvents: number;
}

/**
 * Deletes what monitoring no longer may or need keep: raw records past each tenant's retention (whether or
 * not capture is still enabled), predictions and hourly aggregates past the platform's retention, and
 * pending feedback older than the label window (its prediction can no longer arrive in time), and
 * delivered-event ids older than any redelivery. Each tenant
 * is its own short transaction, so ingest is never blocked for long. Safe to run from any scheduler.
 */
export async function runMonitoringRetention(db: Db, now = Date.now()): Promise<RetentionResult> {
  const result: RetentionResult = {
    rawRecords: 0,
    predictions: 0,
    hours: 0,
    pendingFeedback: 0,
    ingestedEvents: 0,
  };
  const all = await db.select({ id: tenants.id }).from(tenants);
  for (const { id: tenantId } of all) {
    const settings = await getMonitoringSettings(db, tenantId);
    const rawCutoff = now - settings.rawRecords.retentionDays * DAY_MS;
    const counts = await writeTransaction(db, async (tx) => {
      const raw = await tx
        .delete(rawRecords)
        .where(and(eq(rawRecords.tenantId, tenantId), lt(rawRecords.storedAt, rawCutoff)));
      const old = await tx
        .delete(predictions)
        .where(
          and(
            eq(predictions.tenantId, tenantId),
            lt(predictions.predictedAt, now - PREDICTION_RETENTION_DAYS * DAY_MS),
          ),
        );
      const hours = await tx
        .delete(monitoringHourly)
        .where(
          and(
            eq(monitoringHourly.tenantId, tenantId),
            lt(monitoringHourly.hour, now - HOURLY_RETENTION_DAYS * DAY_MS),
          ),
        );
      const pending = await tx
        .delete(pendingFeedback)
        .where(
          and(
            eq(pendingFeedback.tenantId, tenantId),
            lt(pendingFeedback.receivedAt, now - LABEL_WINDOW_DAYS * DAY_MS),
          ),
        );
      const delivered = await tx.delete(ingestedEvents).where(
        and(
          eq(ingestedEvents.tenantId, tenantId),
          // By the edge's time, which the tenant × time index serves; sending follows it within seconds.
          lt(ingestedEvents.occurredAt, now - INGESTED_EVENT_RETENTION_DAYS * DAY_MS),
        ),
      );
      return {
        raw: raw.rowsAffected,
        delivered: delivered.rowsAffected,
        old: old.rowsAffected,
        hours: hours.rowsAffected,
        pending: pending.rowsAffected,
      };
    });
    result.rawRecords += counts.raw;
    result.predictions += counts.old;
    result.hours += counts.hours;
    result.pendingFeedback += counts.pending;
    result.ingestedEvents += counts.delivered;
  }
  return result;
}

export interface Maintenance {
  stop(): void;
}

/**
 * Runs `runMonitoringRetention` every `intervalMs` on an unref'd timer (it never keeps the process alive);
 * a run still going when the next is due is not overlapped.
 */
export function startMonitoringMaintenance(
  deps: Pick<Deps, "db" | "log">,
  intervalMs = MAINTENANCE_INTERVAL_MS,
): Maintenance {
  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    runMonitoringRetention(deps.db)
      .then((deleted) => deps.log.info({ event: "monitoring.retention", ...deleted }))
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
  return { stop: () => clearInterval(timer) };
}
