import { serve } from "@hono/node-server";
import type { OpenAPIHono } from "@hono/zod-openapi";
import { kvKeys } from "#shared/kv.ts";
import { prepareAuditKey, sealUnkeyedChains } from "./modules/audit/audit.ts";
import type { AuditKey } from "./modules/audit/audit-key.ts";
import { AuditCheckpointer } from "./modules/audit/checkpoints.ts";
import { syncDeploymentsToEdge } from "./modules/deployments/deployments.ts";
import { syncTenantLimitsToEdge } from "./modules/deployments/rate-limits.ts";
import { publishRevokedClients } from "./modules/identity/revocations.ts";
import { KeyRing } from "./modules/identity/signing-keys.ts";
import { TokenIssueAudit } from "./modules/identity/token-issue-audit.ts";
import { startMonitoringMaintenance } from "./modules/monitoring/retention.ts";
import { syncEdgeSettingsToEdge } from "./modules/monitoring/settings.ts";
import { onnxRuntimeValidator } from "./modules/registry/model-validation.ts";
import { createApp } from "./platform/app.ts";
import { createProcessCaches } from "./platform/caches.ts";
import type { Config } from "./platform/config.ts";
import { type Database, migrateDatabase, openDatabase } from "./platform/db/client.ts";
import type { EdgeStore } from "./platform/edge-store/edge-store.ts";
import type { Deps, HonoEnv, Logger } from "./platform/env.ts";
import { Lease } from "./platform/lease.ts";
import { jsonLogger } from "./platform/logger.ts";
import { type Scheduler, startScheduler } from "./platform/scheduler/tick.ts";

/** How often the signing keys are re-read from the database (another process may have rotated them). */
const KEY_SYNC_MS = 5_000;
/** The start-up sync's lease; a minute covers the sync, and frees it if its holder dies midway. */
export const STARTUP_SYNC_LEASE = "startup-sync";
const STARTUP_SYNC_LEASE_MS = 60_000;

export interface ControlPlane {
  app: OpenAPIHono<HonoEnv>;
  deps: Deps;
  database: Database;
  /** Background work (alerts, webhooks, retraining schedules, leases, canaries) on an unref'd timer. */
  scheduler: Scheduler | null;
  /** The audit chains' HMAC key (AUDIT_HMAC_KEY, or the key file beside a `file:` database). */
  auditKey: AuditKey;
  /** Signed checkpoints of the audit chains to edge KV, every AUDIT_CHECKPOINT_INTERVAL_SECONDS. */
  auditCheckpoints: AuditCheckpointer;
  /** Stops background work, writes the token-issuance audit still gathered, then closes the database. */
  close(): Promise<void>;
}

/** Opens and migrates the database, loads (or creates and publishes) the signing key, and builds the app. */
export async function createControlPlane(
  config: Config,
  edge: EdgeStore,
  log?: Logger,
): Promise<ControlPlane> {
  const database = await openDatabase(config.DATABASE_URL, config.DATABASE_AUTH_TOKEN);
  await migrateDatabase(database);
  // Before anything appends to a chain: the key, then the keyed cut-over of chains written before keys.
  let auditKey: AuditKey;
  try {
    auditKey = await prepareAuditKey(config, database.db);
    await sealUnkeyedChains(database.db);
  } catch (err) {
    database.close();
    throw err;
  }
  const keys = new KeyRing(database.db, edge);
  await keys.ensureActive();
  // Re-sends what the edge reads, repairing any put the edge store refused earlier. Of processes starting
  // together on one database one does it while the others skip the same puts; it is released when done,
  // so a process started later repairs again.
  const startupSync = new Lease(database.db, STARTUP_SYNC_LEASE, STARTUP_SYNC_LEASE_MS);
  if (await startupSync.acquire()) {
    try {
      await syncDeploymentsToEdge(database.db, edge);
      // Revocations are the database's, not KV's: the list is rebuilt from it.
      await publishRevokedClients(database.db, edge);
      await syncEdgeSettingsToEdge(database.db, edge);
      await syncTenantLimitsToEdge(database.db, edge);
    } finally {
      await startupSync.release();
    }
  }
  const logger = log ?? jsonLogger(config.LOG_LEVEL, "control-plane");
  const deps: Deps = {
    config,
    db: database.db,
    keys,
    edge,
    validator: onnxRuntimeValidator(),
    log: logger,
    caches: createProcessCaches(),
    tokenIssueAudit: new TokenIssueAudit(database.db, logger),
  };
  const scheduler =
    config.SCHEDULER_INTERVAL_SECONDS > 0
      ? startScheduler(deps, config.SCHEDULER_INTERVAL_SECONDS * 1000)
      : null;
  const auditCheckpoints = new AuditCheckpointer(deps, auditKey);
  const stopCheckpoints = auditCheckpoints.start(config.AUDIT_CHECKPOINT_INTERVAL_SECONDS * 1000);
  // Raw-record and prediction retention, hourly; independent of the scheduler's interval.
  const maintenance = startMonitoringMaintenance(deps);
  // Rotations made by another process on the same database reach this one within seconds.
  const stopKeySync = keys.watch(KEY_SYNC_MS, (err) =>
    deps.log.error({ event: "keys.sync_failed", error: err instanceof Error ? err.message : String(err) }),
  );
  return {
    app: createApp(deps),
    deps,
    database,
    scheduler,
    auditKey,
    auditCheckpoints,
    close: async () => {
      // Every write still under way (a lease being given up, the last token.issue batch) finishes before
      // the database closes: closing a client mid-transaction can leave the file locked for other clients.
      await stopCheckpoints();
      await scheduler?.stop();
      maintenance.stop();
      stopKeySync();
      await deps.tokenIssueAudit.close();
      database.close();
    },
  };
}

/** Tells the edge's queue consumer where to deliver events (it reads this from KV). */
export async function publishControlPlaneLocation(edge: EdgeStore, url: string): Promise<void> {
  await edge.put(kvKeys.controlPlane(), JSON.stringify({ url }));
}

export interface RunningServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

export function listen(app: OpenAPIHono<HonoEnv>, host: string, port: number): Promise<RunningServer> {
  return new Promise((resolve, reject) => {
    const server = serve({ fetch: app.fetch, hostname: host, port }, (info) => {
      resolve({
        url: `http://${host}:${info.port}`,
        port: info.port,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            if ("closeAllConnections" in server)
              (server as { closeAllConnections(): void }).closeAllConnections();
          }),
      });
    });
    server.once("error", reject);
  });
}
