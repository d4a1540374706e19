import type { MonitoringSnapshot } from "#shared/monitoring.ts";
import type { Candidate } from "#shared/retraining.ts";
import { type AlertTransition, evaluateAlerts } from "../../modules/alerts/evaluate.ts";
import { type DeliveryOutcome, deliverDueWebhooks } from "../../modules/alerts/webhooks.ts";
import { SCHEDULER_AUDIT } from "../../modules/audit/audit.ts";
import { deployedTenants } from "../../modules/deployments/deployments.ts";
import { pruneAuthFailures } from "../../modules/identity/auth-throttle.ts";
import { computeSnapshot } from "../../modules/monitoring/snapshot.ts";
import { checkCanaries } from "../../modules/retraining/candidates.ts";
import { failExhaustedJobs } from "../../modules/retraining/jobs.ts";
import { queueScheduledJobs } from "../../modules/retraining/schedule.ts";
import type { DbOrTx } from "../db/client.ts";
import { writeTransaction } from "../db/write-transaction.ts";
import type { Deps } from "../env.ts";
import { Lease } from "../lease.ts";

export type SnapshotSource = (
  db: DbOrTx,
  tenantId: string,
  options: { now: number },
) => Promise<MonitoringSnapshot>;

export interface TickOptions {
  /** Injected for tests; the control plane's clock otherwise. */
  now?: number;
  snapshot?: SnapshotSource;
}

export interface TickReport {
  alerts: AlertTransition[];
  deliveries: DeliveryOutcome;
  scheduledJobs: string[];
  failedJobs: string[];
  candidates: Candidate[];
  errors: string[];
}

/**
 * One pass of the control plane's background work, in order: evaluate every deployed tenant's alert rules
 * (firing or resolving alerts, queueing their webhooks and alert-triggered jobs), send due webhook
 * deliveries, queue scheduled retraining jobs, fail jobs whose lease ran out on their last attempt,
 * promote or take out canaries, and forget login-failure windows that have ended. A failure in one
 * tenant's step is reported and does not stop the others.
 */
export async function schedulerTick(
  deps: Pick<Deps, "db" | "edge" | "log" | "config">,
  options: TickOptions = {},
): Promise<TickReport> {
  const now = options.now ?? Date.now();
  const snapshot = options.snapshot ?? computeSnapshot;
  const report: TickReport = {
    alerts: [],
    deliveries: { sent: 0, delivered: 0, retried: 0, failed: 0 },
    scheduledJobs: [],
    failedJobs: [],
    candidates: [],
    errors: [],
  };
  const attempt = async (what: string, step: () => Promise<void>) => {
    try {
      await step();
    } catch (err) {
      const message = `${what}: ${err instanceof Error ? err.message : String(err)}`;
      report.errors.push(message);
      deps.log.error({ event: "scheduler.error", message });
    }
  };

  for (const tenantId of await deployedTenants(deps.db)) {
    await attempt(`alerts of ${tenantId}`, async () => {
      report.alerts.push(
        ...(await evaluateAlerts(deps.db, tenantId, await snapshot(deps.db, tenantId, { now }), now)),
      );
    });
  }
  await attempt("webhook deliveries", async () => {
    report.deliveries = await deliverDueWebhooks(deps.db, now, {
      log: deps.log,
      allowPrivateNetworks: deps.config.WEBHOOK_ALLOW_PRIVATE_NETWORKS,
    });
  });
  await attempt("scheduled jobs", async () => {
    report.scheduledJobs = await queueScheduledJobs(deps.db, now);
  });
  await attempt("expired leases", async () => {
    report.failedJobs = await writeTransaction(deps.db, (tx) => failExhaustedJobs(tx, now));
  });
  await attempt("canaries", async () => {
    report.candidates = await checkCanaries(deps.db, deps.edge, SCHEDULER_AUDIT, now);
  });
  await attempt("ended login-failure windows", async () => {
    await pruneAuthFailures(deps.db, now);
  });
  return report;
}

export interface Scheduler {
  /** Runs one tick now (waits for a running one first), lease or not; for tests and operators. */
  tickNow(options?: Omit<TickOptions, "now">): Promise<TickReport>;
  /** The database lease the interval's ticks run under. */
  lease: Lease;
  /** Stops ticking and gives the lease up; resolves once it is released. */
  stop(): Promise<void>;
}

/**
 * Runs the tick every `intervalMs` on an unref'd timer (it never keeps the process alive). Ticks never
 * overlap: a tick that outlasts the interval delays the next one.
 */
/** The lease name the scheduler runs under: one process on the database ticks at a time. */
export const SCHEDULER_LEASE = "scheduler";

export function startScheduler(
  deps: Pick<Deps, "db" | "edge" | "log" | "config">,
  intervalMs: number,
): Scheduler {
  // Held for three intervals: a holder that stops ticking is replaced within that.
  const lease = new Lease(deps.db, SCHEDULER_LEASE, 3 * intervalMs);
  let running: Promise<TickReport> | null = null;
  const run = (options: Omit<TickOptions, "now"> = {}) => {
    const previous = running ?? Promise.resolve(null);
    const next = previous.then(() => schedulerTick(deps, options));
    running = next;
    void next.finally(() => {
      if (running === next) running = null;
    });
    return next;
  };
  const timer = setInterval(() => {
    if (running) return;
    lease
      .acquire()
      .then((held) => (held ? run() : null))
      .catch((err: unknown) =>
        deps.log.error({
          event: "scheduler.error",
          message: err instanceof Error ? err.message : String(err),
        }),
      );
  }, intervalMs);
  timer.unref();
  return {
    tickNow: run,
    lease,
    stop: () => {
      clearInterval(timer);
      return lease.release().catch(() => undefined);
    },
  };
}
