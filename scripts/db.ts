/**
 * Database maintenance for the embedded libSQL file:
 *
 *   npm run db -- backup [--to <file>]              online, while the control plane serves
 *   npm run db -- verify <file>                     integrity and every audit chain
 *   npm run db -- restore <file> [--to <file>] [--replace]
 *
 * The database is DATABASE_URL's (default file:.data/control-plane.db). See docs/runbooks/backup-restore.md.
 */
import { existsSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { parseArgs } from "node:util";
import { createClient } from "@libsql/client";
import { loadConfig } from "../control-plane/src/platform/config.ts";
import {
  type BackupVerification,
  backupDatabase,
  databaseFilePath,
  restoreDatabase,
  verifyBackup,
} from "../control-plane/src/platform/db/backup.ts";

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: { to: { type: "string" }, replace: { type: "boolean", default: false } },
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

try {
  const live = databaseFilePath(loadConfig().DATABASE_URL);
  if (command === "backup") {
    const stamp = new Date().toISOString().replace(/[:.]/g, "-");
    const to = values.to ?? join(dirname(live), "backups", `control-plane-${stamp}.db`);
    if (!existsSync(live))
      throw new Error(`${live} does not exist: nothing to back up (is DATABASE_URL right?)`);
    mkdirSync(dirname(to), { recursive: true });
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
      "usage: npm run db -- backup [--to <file>] | verify <file> | restore <file> [--to <file>] [--replace]",
    );
    process.exitCode = 2;
  }
} catch (err) {
  console.error(`db: ${(err as Error).message}`);
  process.exitCode = 1;
}
