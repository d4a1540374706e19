/**
 * Database maintenance for the embedded libSQL file:
 *
 *   npm run db -- backup [--to <file>]              online, while the control plane serves
 *   npm run db -- verify <file>                     integrity and every audit chain
 *   npm run db -- restore <file> [--to <file>] [--replace]
 *   npm run db -- tenant create --name <name> --owner-email <email> [--owner-name <name>]
 *                                                   the first tenant of a new deployment, and its owner's
 *                                                   token (shown once); any database, Turso included
 *
 * The database is DATABASE_URL's (default file:.data/control-plane.db). See docs/runbooks/backup-restore.md.
 */
import { existsSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { parseArgs } from "node:util";
import { createClient } from "@libsql/client";
import { createTenant } from "../control-plane/src/modules/identity/tenants.ts";
import { loadConfig } from "../control-plane/src/platform/config.ts";
import {
  type BackupVerification,
  backupDatabase,
  databaseFilePath,
  restoreDatabase,
  verifyBackup,
} from "../control-plane/src/platform/db/backup.ts";
import { migrateDatabase, openDatabase } from "../control-plane/src/platform/db/client.ts";

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: {
    to: { type: "string" },
    replace: { type: "boolean", default: false },
    name: { type: "string" },
    "owner-email": { type: "string" },
    "owner-name": { type: "string" },
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

try {
  const live = command === "tenant" ? "" : databaseFilePath(loadConfig().DATABASE_URL);
  if (command === "tenant" && file === "create") {
    await createFirstTenant();
  } else if (command === "backup") {
    const stamp = new Date().toISOString().replace(/[:.]/g, "-");
    const to = values.to ?? join(dirname(live), "backups", `control-plane-${stamp}.db`);
    if (!existsSync(live))
      throw new Error(`${live} does not exist: nothing to back up (is DATABASE_URL right?)`);
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
    report(await verifyBackup(to));
  } else if (command === "verify" && file) {
    const v = await verifyBackup(file);
    report(v);
    if (!v.ok) process.exitCode = 1;
  } else if (command === "restore" && file) {
    const to = values.to ?? live;
    report(await restoreDatabase(file, to, { replace: values.replace }));
    console.log(JSON.stringify({ restored: to }));
  } else {
    console.error(
      "usage: npm run db -- backup [--to <file>] | verify <file> | restore <file> [--to <file>] [--replace] | tenant create --name <name> --owner-email <email> [--owner-name <name>]",
    );
    process.exitCode = 2;
  }
} catch (err) {
  console.error(`db: ${(err as Error).message}`);
  process.exitCode = 1;
}
