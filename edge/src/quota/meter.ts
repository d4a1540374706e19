import { ChurnError } from "#shared/errors.ts";
import type { PredictionQuotas } from "#shared/kv.ts";
import { monthBounds, monthOf } from "#shared/time.ts";
import type { WaitUntil } from "../kv-cache.ts";
import type { PredictionQuota } from "./durable-object.ts";
import type { Grant } from "./ledger.ts";

/**
 * The isolate's side of monthly prediction quotas. Each (tenant, client) has a meter here that leases
 * records from the tenant's PredictionQuota object in chunks, so most requests are decided in memory, and
 * reports what it scored (handing back what it did not use) a couple of seconds after scoring. Without a
 * quota in force nothing is leased: records are only counted and reported.
 */

/** A meter reports this long after its first unreported change, in the waitUntil of the request that made it. */
export const REPORT_DELAY_MS = 2_000;
/** A refusal is remembered this long, so a client hammering a used-up quota costs no call per request. */
const REFUSAL_MEMORY_MS = 1_000;
/** Attempts at a report before its counts wait for the next one. */
const REPORT_ATTEMPTS = 3;
/**
 * Every round serves at least the request that asked for the lease, so waiting requests are all decided
 * within as many rounds as there are of them; this only guards against a bug turning that into a loop.
 */
const LEASE_ROUNDS = 100;

type Namespace = DurableObjectNamespace<PredictionQuota>;

export interface Meter {
  readonly tenantId: string;
  readonly clientId: string;
  /** The month (UTC) this meter counts towards, and the first instant of the next, when it resets. */
  readonly month: string;
  readonly endsAt: number;
  /** Leased, not yet taken by a request. */
  tokens: number;
  /** Taken from leases and scored; not yet reported. */
  spentLeased: number;
  /** Scored while no quota was in force (nothing leased); not yet reported. */
  spentFree: number;
  leasing: Promise<Grant> | undefined;
  /** Records the requests waiting for a lease need together. */
  waiting: number;
  reportScheduled: boolean;
  /** The last refusal, under the quotas it was made with, until `until`. */
  refusal:
    | { grant: Grant; tenantQuota: number | null; clientQuota: number | null; until: number }
    | undefined;
}

/** tenant id → client id → meter. Idle meters are dropped after their report. */
const meters = new Map<string, Map<string, Meter>>();

let currentMonth = { month: "", startsAt: 0, endsAt: 0 };

function meterOf(tenantId: string, clientId: string, now: number): Meter {
  if (now < currentMonth.startsAt || now >= currentMonth.endsAt) {
    const month = monthOf(now);
    currentMonth = { month, ...monthBounds(month) };
  }
  let byClient = meters.get(tenantId);
  if (!byClient) {
    byClient = new Map();
    meters.set(tenantId, byClient);
  }
  let meter = byClient.get(clientId);
  // A meter of last month stays with the requests and the report that hold it; this month gets a new one.
  if (!meter || meter.month !== currentMonth.month) {
    meter = {
      tenantId,
      clientId,
      month: currentMonth.month,
      endsAt: currentMonth.endsAt,
      tokens: 0,
      spentLeased: 0,
      spentFree: 0,
      leasing: undefined,
      waiting: 0,
      reportScheduled: false,
      refusal: undefined,
    };
    byClient.set(clientId, meter);
  }
  return meter;
}

const stubOf = (namespace: Namespace, tenantId: string) => namespace.get(namespace.idFromName(tenantId));

function quotaExceeded(
  meter: Meter,
  grant: Grant,
  tenantQuota: number | null,
  clientQuota: number | null,
  count: number,
): ChurnError {
  const now = Date.now();
  const byClient = grant.refusedBy === "client";
  const limit = byClient ? clientQuota : tenantQuota;
  const left = grant.remaining ?? 0;
  const state =
    left > 0 ? `has ${left} predictions left, fewer than the ${count} records sent` : "is used up";
  const resets = new Date(meter.endsAt).toISOString();
  return new ChurnError(
    "QUOTA_EXCEEDED",
    `${byClient ? "This client's" : "The tenant's"} monthly prediction quota of ${limit} ${state} for ${meter.month}; it resets at ${resets}`,
    { headers: { "retry-after": String(Math.max(1, Math.ceil((meter.endsAt - now) / 1000))) } },
  );
}

async function lease(
  namespace: Namespace,
  meter: Meter,
  tenantQuota: number | null,
  clientQuota: number | null,
  need: number,
): Promise<Grant> {
  let grant: Grant;
  const want = Math.max(need, meter.waiting - meter.tokens);
  try {
    grant = await stubOf(namespace, meter.tenantId).meter({
      tenantId: meter.tenantId,
      month: meter.month,
      clientId: meter.clientId,
      spent: 0,
      released: 0,
      need,
      want,
      tenantQuota,
      clientQuota,
    });
  } catch (err) {
    // Closed, not open: a quota that cannot be checked is not spent past.
    throw new ChurnError("UNAVAILABLE", "The monthly prediction quota could not be checked; retry shortly", {
      cause: err,
      headers: { "retry-after": "1" },
    });
  }
  meter.tokens += grant.granted;
  return grant;
}

async function leaseAndTake(
  namespace: Namespace,
  meter: Meter,
  tenantQuota: number | null,
  clientQuota: number | null,
  count: number,
): Promise<Meter> {
  const refusal = meter.refusal;
  if (
    refusal &&
    Date.now() < refusal.until &&
    refusal.tenantQuota === tenantQuota &&
    refusal.clientQuota === clientQuota &&
    count > (refusal.grant.remaining ?? 0)
  )
    throw quotaExceeded(meter, refusal.grant, tenantQuota, clientQuota, count);
  meter.waiting += count;
  try {
    for (let round = 0; round < LEASE_ROUNDS; round++) {
      // One lease in flight per meter: it asks for what every waiting request needs, and they share it.
      meter.leasing ??= lease(namespace, meter, tenantQuota, clientQuota, count - meter.tokens).finally(
        () => {
          meter.leasing = undefined;
        },
      );
      const grant = await meter.leasing;
      if (meter.tokens >= count) {
        meter.tokens -= count;
        return meter;
      }
      // A refused lease for fewer records than ours refuses ours too; one for more may still leave room.
      if (grant.granted === 0 && (grant.remaining ?? 0) < count - meter.tokens) {
        meter.refusal = { grant, tenantQuota, clientQuota, until: Date.now() + REFUSAL_MEMORY_MS };
        throw quotaExceeded(meter, grant, tenantQuota, clientQuota, count);
      }
    }
  } finally {
    meter.waiting -= count;
  }
  throw new ChurnError("UNAVAILABLE", "The monthly prediction quota is contended; retry shortly", {
    headers: { "retry-after": "1" },
  });
}

/**
 * Takes `count` records from the quotas in force for the tenant and the client, before they are scored:
 * from the isolate's lease when it holds enough (no await), otherwise from a new lease. Throws
 * QUOTA_EXCEEDED when a quota cannot cover them all. Hand the meter to `settlePredictions` afterwards.
 */
export function reservePredictions(
  namespace: Namespace,
  tenantId: string,
  clientId: string,
  quotas: PredictionQuotas | undefined,
  count: number,
): Meter | Promise<Meter> {
  const meter = meterOf(tenantId, clientId, Date.now());
  const tenantQuota = quotas?.tenant ?? null;
  const clientQuota = quotas?.clients[clientId] ?? null;
  if (tenantQuota === null && clientQuota === null) return meter;
  if (meter.tokens >= count) {
    meter.tokens -= count;
    return meter;
  }
  return leaseAndTake(namespace, meter, tenantQuota, clientQuota, count);
}

/**
 * Settles a reservation (with the same `quotas`): scored records count; records not scored (the request
 * failed) go back to the lease. Schedules the meter's report in the request's waitUntil.
 */
export function settlePredictions(
  namespace: Namespace,
  meter: Meter,
  quotas: PredictionQuotas | undefined,
  count: number,
  scored: boolean,
  waitUntil: WaitUntil,
): void {
  const limited = (quotas?.tenant ?? null) !== null || (quotas?.clients[meter.clientId] ?? null) !== null;
  if (limited) {
    if (scored) meter.spentLeased += count;
    else meter.tokens += count;
  } else if (scored) meter.spentFree += count;
  if (!meter.reportScheduled && meter.spentLeased + meter.spentFree + meter.tokens > 0) {
    meter.reportScheduled = true;
    waitUntil(
      new Promise((resolve) => setTimeout(resolve, REPORT_DELAY_MS)).then(() => report(namespace, meter)),
    );
  }
}

/** Reports what the meter scored and hands back its unused lease, so a quiet isolate holds nothing. */
async function report(namespace: Namespace, meter: Meter): Promise<void> {
  meter.reportScheduled = false;
  const { spentLeased, spentFree, tokens } = meter;
  meter.spentLeased = 0;
  meter.spentFree = 0;
  meter.tokens = 0;
  for (let attempt = 1; attempt <= REPORT_ATTEMPTS; attempt++) {
    try {
      await stubOf(namespace, meter.tenantId).meter({
        tenantId: meter.tenantId,
        month: meter.month,
        clientId: meter.clientId,
        spent: spentLeased + spentFree,
        released: spentLeased + tokens,
        need: 0,
        want: 0,
        tenantQuota: null,
        clientQuota: null,
      });
      break;
    } catch (err) {
      if (attempt === REPORT_ATTEMPTS) {
        // Kept for the next report (the next settled request schedules it): scored records stay counted.
        meter.spentLeased += spentLeased;
        meter.spentFree += spentFree;
        meter.tokens += tokens;
        console.error(
          JSON.stringify({ msg: "quota report failed", tenantId: meter.tenantId, error: String(err) }),
        );
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, 100 * attempt));
    }
  }
  const byClient = meters.get(meter.tenantId);
  const idle =
    meter.tokens === 0 &&
    meter.spentLeased + meter.spentFree === 0 &&
    !meter.leasing &&
    !meter.reportScheduled;
  if (idle && byClient?.get(meter.clientId) === meter) {
    byClient.delete(meter.clientId);
    if (byClient.size === 0) meters.delete(meter.tenantId);
  }
}
