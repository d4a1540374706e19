/**
 * Database maintenance for the embedded libSQL file:
 *
 *   npm run db -- backup [--to <file>]              online, while the control plane serves; writes the
 *                                                   chains' signed checkpoints beside the backup
 *   npm run db -- verify <file> [--checkpoints <file>]
 *                                                   integrity and every audit chain, held to the checkpoints
 *                                                   (by default the file beside the backup)
 *   npm run db -- restore <file> [--to <file>] [--replace] [--checkpoints <file>]
 *   npm run db -- tenant create --name <name> --owner-email <email> [--owner-name <name>]
 *                                                   the first tenant of a new deployment, and its owner's
 *                                                   token (shown once); any database, Turso included
 *
 * The database is DATABASE_URL's (default file:.data/control-plane.db), and the audit key AUDIT_HMAC_KEY or
 * the key file beside that database. See docs/runbooks/backup-restore.md.
 */
import { existsSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { parseArgs } from "node:util";
import { createClient } from "@libsql/client";
import { prepareAuditKey } from "../control-plane/src/modules/audit/audit.ts";
import { type AuditKey, loadAuditKey } from "../control-plane/src/modules/audit/audit-key.ts";
import { AuditCheckpointer } from "../control-plane/src/modules/audit/checkpoints.ts";
import { createTenant } from "../control-plane/src/modules/identity/tenants.ts";
import { type Config, loadConfig } from "../control-plane/src/platform/config.ts";
import {
  type BackupVerification,
  backupDatabase,
  checkpointFilePath,
  databaseFilePath,
  readCheckpointFile,
  recordRestore,
  restoreDatabase,
  verifyBackup,
  writeBackupCheckpoints,
} from "../control-plane/src/platform/db/backup.ts";
import { migrateDatabase, openDatabase } from "../control-plane/src/platform/db/client.ts";
import { cloudflareKvStore } from "../control-plane/src/platform/edge-store/cloudflare-kv.ts";

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: {
    to: { type: "string" },
    replace: { type: "boolean", default: false },
    name: { type: "string" },
    "owner-email": { type: "string" },
    "owner-name": { type: "string" },
    checkpoints: { type: "string" },
  },
});
const [command, file] = positionals;

function report(v: BackupVerification): void {
  console.log(
    JSON.stringify({
      ok: v.ok,
      integrity: v.integrity,
      migrations: v.migrations,
      tenants: v.tenants,
      auditEntries: v.chains.reduce((n, c) => n + c.entries, 0),
      checkpoints: v.checkpoints,
      ...(v.predatesKeying ? { predatesKeyedAudit: true } : {}),
      problems: v.problems,
    }),
  );
}

/** Creates a tenant with its owner on DATABASE_URL (migrating it first) and prints the owner's token. */
async function createFirstTenant(): Promise<void> {
  const name = values.name;
  const ownerEmail = values["owner-email"];
  if (!name || !ownerEmail) throw new Error("tenant create needs --name and --owner-email");
  const config = loadConfig();
  const database = await openDatabase(config.DATABASE_URL, config.DATABASE_AUTH_TOKEN);
  try {
    await migrateDatabase(database);
    await prepareAuditKey(config, database.db);
    const created = await createTenant(database.db, {
      name,
      ownerEmail,
      ownerName: values["owner-name"] ?? ownerEmail,
    });
    console.log(JSON.stringify(created));
  } finally {
    database.close();
  }
}

/**
 * The checkpoints a backup is held to: `--checkpoints`, else the file `backup` wrote beside it. None (a
 * backup from before checkpoints) leaves tail deletion unchecked, which the report's `checkpoints: 0` says.
 */
async function checkpointsFor(backup: string) {
  const path = values.checkpoints ?? checkpointFilePath(backup);
  if (values.checkpoints === undefined && !existsSync(path)) return [];
  return readCheckpointFile(path);
}

/**
 * Where Cloudflare KV is configured (production), puts fresh checkpoints of the live chains there too.
 * The local platform's KV belongs to the running workerd, whose control plane checkpoints on its timer.
 */
async function checkpointLiveChainsToKv(config: Config, key: AuditKey): Promise<void> {
  if (!config.CLOUDFLARE_ACCOUNT_ID || !config.CLOUDFLARE_API_TOKEN || !config.CLOUDFLARE_KV_NAMESPACE_ID)
    return;
  const edge = cloudflareKvStore({
    accountId: config.CLOUDFLARE_ACCOUNT_ID,
    apiToken: config.CLOUDFLARE_API_TOKEN,
    namespaceId: config.CLOUDFLARE_KV_NAMESPACE_ID,
    ...(config.CLOUDFLARE_API_BASE ? { apiBase: config.CLOUDFLARE_API_BASE } : {}),
  });
  const database = await openDatabase(config.DATABASE_URL, config.DATABASE_AUTH_TOKEN);
  try {
    const errors: Record<string, unknown>[] = [];
    const log = { info: () => {}, error: (e: Record<string, unknown>) => errors.push(e) };
    const outcomes = await new AuditCheckpointer({ db: database.db, edge, log }, key).flush();
    console.log(
      JSON.stringify({
        kvCheckpoints: outcomes.filter((o) => o.result === "written").length,
        refused: outcomes.flatMap((o) => (o.result === "refused" ? [`${o.tenantId}: ${o.reason}`] : [])),
        failed: errors.length,
      }),
    );
    if (outcomes.some((o) => o.result === "refused") || errors.length > 0) process.exitCode = 1;
  } finally {
    database.close();
  }
}

try {
  const config = loadConfig();
  const live = command === "tenant" ? "" : databaseFilePath(config.DATABASE_URL);
  // Maintenance never makes a key: a missing key here means the chains cannot be checked.
  const auditKey = () => loadAuditKey(config, { mayCreate: false });
  if (command === "tenant" && file === "create") {
    await createFirstTenant();
  } else if (command === "backup") {
    const stamp = new Date().toISOString().replace(/[:.]/g, "-");
    const to = values.to ?? join(dirname(live), "backups", `control-plane-${stamp}.db`);
    if (!existsSync(live))
      throw new Error(`${live} does not exist: nothing to back up (is DATABASE_URL right?)`);
    // Before writing anything: a backup whose chains cannot be checked gets no checkpoints either.
    const key = await auditKey();
    mkdirSync(dirname(to), { recursive: true, mode: 0o700 });
    const client = createClient({ url: `file:${live}`, timeout: 5000 });
    try {
      const result = await backupDatabase(client, to);
      console.log(
        JSON.stringify({ backup: result.path, bytes: result.bytes, ms: Math.round(result.durationMs) }),
      );
    } finally {
      client.close();
    }
    const verification = await verifyBackup(to, { key });
    report(verification);
    if (verification.ok) {
      const written = await writeBackupCheckpoints(to, key, verification);
      console.log(JSON.stringify({ checkpoints: written.path, chains: written.file.checkpoints.length }));
      await checkpointLiveChainsToKv(config, key);
    } else process.exitCode = 1;
  } else if (command === "verify" && file) {
    const v = await verifyBackup(file, { key: await auditKey(), checkpoints: await checkpointsFor(file) });
    report(v);
    if (!v.ok) process.exitCode = 1;
  } else if (command === "restore" && file) {
    const to = values.to ?? live;
    const key = await auditKey();
    report(
      await restoreDatabase(file, to, {
        replace: values.replace,
        key,
        checkpoints: await checkpointsFor(file),
      }),
    );
    // Checkpoints signed before now bind the chains no longer: what came after the backup is gone.
    const chains = await recordRestore(to, key, file);
    console.log(JSON.stringify({ restored: to, restoreRecordedIn: chains }));
  } else {
    console.error(
      "usage: npm run db -- backup [--to <file>] | verify <file> [--checkpoints <file>] | restore <file> [--to <file>] [--replace] [--checkpoints <file>] | tenant create --name <name> --owner-email <email> [--owner-name <name>]",
    );
    process.exitCode = 2;
  }
} catch (err) {
  console.error(`db: ${(err as Error).message}`);
  process.exitCode = 1;
}
