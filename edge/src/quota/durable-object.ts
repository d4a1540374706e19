import { DurableObject } from "cloudflare:workers";
import { kvKeys, type UsageRecord } from "#shared/kv.ts";
import type { Bindings } from "../env.ts";
import {
  applyReport,
  emptyLedger,
  type Grant,
  grantLease,
  type MonthLedger,
  type QuotaCheck,
} from "./ledger.ts";

/** While a tenant scores, its usage record in KV is rewritten at most this often. */
export const USAGE_WRITE_MS = 3_000;
/** Usage records outlive a year of monthly statements. */
const USAGE_TTL_SECONDS = 400 * 86_400;
/** The current month and the one before (for reports that arrive just after midnight UTC). */
const MONTHS_KEPT = 2;

/** One call from an isolate: a report of what it scored and released, and what it needs leased now. */
export interface MeterRequest extends QuotaCheck {
  tenantId: string;
  /** `YYYY-MM` (UTC), as the isolate's clock reads it: the month the records count towards. */
  month: string;
  clientId: string;
  spent: number;
  released: number;
  /** What the calling request needs at least; 0: a report only. */
  need: number;
  /** What every request waiting in the isolate needs (at least `need`), granted when there is room. */
  want: number;
}

const NOTHING_NEEDED: Grant = { granted: 0, refusedBy: null, remaining: null };
const monthKey = (month: string) => `month:${month}`;

function usageRecord(ledger: MonthLedger, now: number): UsageRecord {
  const clients: Record<string, number> = {};
  for (const [id, count] of Object.entries(ledger.clients)) if (count.used > 0) clients[id] = count.used;
  return { month: ledger.month, used: ledger.used, clients, updatedAt: new Date(now).toISOString() };
}

/**
 * One tenant's monthly prediction count (one object per tenant, named by its id), kept in the object's
 * storage so it survives restarts. Isolates lease records from it in chunks and report what they scored; it
 * writes the counts to KV on an alarm, never per call.
 */
export class PredictionQuota extends DurableObject<Bindings> {
  readonly #ledgers = new Map<string, MonthLedger>();
  #tenantId: string | undefined;
  #writeScheduled = false;

  meter(request: MeterRequest): Grant {
    if (this.#tenantId !== request.tenantId) {
      this.#tenantId = request.tenantId;
      this.ctx.storage.kv.put("tenant", request.tenantId);
    }
    const ledger = this.#ledger(request.month);
    applyReport(ledger, request.clientId, request.spent, request.released);
    const grant =
      request.need > 0
        ? grantLease(ledger, request.clientId, request.need, request.want, request)
        : NOTHING_NEEDED;
    this.ctx.storage.kv.put(monthKey(ledger.month), ledger);
    if (ledger.changes !== ledger.written) this.#scheduleWrite();
    return grant;
  }

  /** Writes every month whose counts changed since its last write to `tenant:{id}:usage:{month}`. */
  override async alarm(): Promise<void> {
    this.#writeScheduled = false;
    const tenantId = this.#tenantId ?? this.ctx.storage.kv.get<string>("tenant");
    if (tenantId === undefined) return;
    for (const [key] of this.ctx.storage.kv.list({ prefix: "month:" })) {
      const ledger = this.#ledger(key.slice("month:".length));
      if (ledger.changes === ledger.written) continue;
      const changes = ledger.changes;
      await this.env.EDGE_KV.put(
        kvKeys.usage(tenantId, ledger.month),
        JSON.stringify(usageRecord(ledger, Date.now())),
        {
          expirationTtl: USAGE_TTL_SECONDS,
        },
      );
      // Calls may have landed during the put: those changes are written by the next alarm.
      ledger.written = changes;
      this.ctx.storage.kv.put(key, ledger);
      if (ledger.changes !== ledger.written) this.#scheduleWrite();
    }
  }

  /** The live ledger of a month: one object per month, loaded from storage once. */
  #ledger(month: string): MonthLedger {
    let ledger = this.#ledgers.get(month);
    if (ledger) return ledger;
    ledger = this.ctx.storage.kv.get<MonthLedger>(monthKey(month));
    if (!ledger) {
      ledger = emptyLedger(month);
      this.ctx.storage.kv.put(monthKey(month), ledger);
      this.#forgetOldMonths();
    }
    this.#ledgers.set(month, ledger);
    return ledger;
  }

  #forgetOldMonths(): void {
    const months = [...this.ctx.storage.kv.list({ prefix: "month:" })].map(([key]) => key);
    for (const key of months.slice(0, Math.max(0, months.length - MONTHS_KEPT))) {
      this.ctx.storage.kv.delete(key);
      this.#ledgers.delete(key.slice("month:".length));
    }
  }

  #scheduleWrite(): void {
    if (this.#writeScheduled) return;
    this.#writeScheduled = true;
    // Storage writes are covered by the object's output gate: the caller's answer waits for them anyway.
    void this.ctx.storage.setAlarm(Date.now() + USAGE_WRITE_MS);
  }
}
