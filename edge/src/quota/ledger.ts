/**
 * One tenant's prediction count for one month, as its quota Durable Object keeps it. Pure, so the
 * accounting is tested on its own.
 *
 * `used` is what isolates reported as scored; `leased` is what they were granted and have not yet reported
 * back (as scored or as handed back). A quota refuses once `used + leased` would pass it, so the records
 * scored never exceed the quota, whatever the isolates do with their leases.
 */
export interface Count {
  used: number;
  leased: number;
}

export interface MonthLedger extends Count {
  month: string;
  clients: Record<string, Count>;
  /** Bumped by every change; the usage record in KV is rewritten while `written` lags behind it. */
  changes: number;
  written: number;
}

/**
 * A lease holds at most MAX_LEASE records and a 16th of what the quota has left (or, when one request needs
 * more, exactly that request's records).
 */
export const MAX_LEASE = 1000;
const LEASE_SHARE_DIVISOR = 16;

export interface QuotaCheck {
  tenantQuota: number | null;
  clientQuota: number | null;
}

export interface Grant {
  granted: number;
  /** Set when nothing was granted: the quota that refused. */
  refusedBy: "tenant" | "client" | null;
  /** What the tighter quota has left after this grant; null without a quota. */
  remaining: number | null;
}

export const emptyLedger = (month: string): MonthLedger => ({
  month,
  used: 0,
  leased: 0,
  clients: {},
  changes: 0,
  written: 0,
});

function countOf(ledger: MonthLedger, clientId: string): Count {
  let count = ledger.clients[clientId];
  if (!count) {
    count = { used: 0, leased: 0 };
    ledger.clients[clientId] = count;
  }
  return count;
}

/**
 * An isolate's report: `spent` records scored since its last report, `released` leased records it no
 * longer holds (those it scored plus those it handed back).
 */
export function applyReport(ledger: MonthLedger, clientId: string, spent: number, released: number): void {
  if (spent === 0 && released === 0) return;
  const client = countOf(ledger, clientId);
  ledger.used += spent;
  client.used += spent;
  ledger.leased = Math.max(0, ledger.leased - released);
  client.leased = Math.max(0, client.leased - released);
  ledger.changes++;
}

const left = (quota: number | null, count: Count) =>
  quota === null ? Number.POSITIVE_INFINITY : Math.max(0, quota - count.used - count.leased);

/**
 * Grants at least `need` records or none: all of a request's records are scored, or it is refused. `want`
 * (at least `need`) is what every request waiting in the isolate needs, so one call serves them all when
 * there is room. While much is left an isolate gets a share of it, so it leases again rarely; near the end
 * leases shrink to what is asked for, so the last records of a quota go to whoever asks first.
 */
export function grantLease(
  ledger: MonthLedger,
  clientId: string,
  need: number,
  want: number,
  quotas: QuotaCheck,
): Grant {
  const client = countOf(ledger, clientId);
  const tenantLeft = left(quotas.tenantQuota, ledger);
  const clientLeft = left(quotas.clientQuota, client);
  const available = Math.min(tenantLeft, clientLeft);
  const remaining = (n: number) => (Number.isFinite(n) ? n : null);
  if (need > available) {
    return {
      granted: 0,
      refusedBy: clientLeft < tenantLeft ? "client" : "tenant",
      remaining: remaining(available),
    };
  }
  const share = Number.isFinite(available) ? Math.floor(available / LEASE_SHARE_DIVISOR) : MAX_LEASE;
  const granted = Math.min(available, Math.max(need, want, Math.min(MAX_LEASE, share)));
  ledger.leased += granted;
  client.leased += granted;
  ledger.changes++;
  return { granted, refusedBy: null, remaining: remaining(available - granted) };
}
