import { chmod, copyFile, mkdtemp, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import { type Client, createClient } from "@libsql/client";
import { drizzle } from "drizzle-orm/libsql";
import {
  AUDIT_CHECKPOINT_FILE_FORMAT,
  type AuditCheckpoint,
  type AuditCheckpointFile,
  auditCheckpointFileSchema,
} from "#shared/audit.ts";
import { appendRestoreEntries } from "../../modules/audit/audit.ts";
import { type ChainVerification, verifyChain } from "../../modules/audit/audit-chain.ts";
import { type AuditKey, bindAuditKey } from "../../modules/audit/audit-key.ts";
import { signCheckpoint } from "../../modules/audit/checkpoint-signature.ts";
import { type Db, migrateDatabase, openDatabase } from "./client.ts";
import * as schema from "./schema/index.ts";

/**
 * Online backup and verified restore of the control plane's libSQL file. Turso databases are backed up
 * by Turso itself (point-in-time restore); these functions are for the embedded file.
 */

export interface BackupResult {
  path: string;
  bytes: number;
  durationMs: number;
}

/** A path for `file:` URLs; anything else (Turso, memory) cannot be backed up as a file. */
export function databaseFilePath(url: string): string {
  if (!url.startsWith("file:") || url.startsWith("file::memory:"))
    throw new Error(`backup works on a libSQL file (file:…), not ${url.split(":")[0]}: URLs`);
  return url.slice("file:".length);
}

/**
 * Writes a consistent copy of the live database to `destination` with VACUUM INTO: it reads one snapshot,
 * so writers carry on (WAL mode) and the copy holds exactly the transactions committed before it began.
 * The copy is compacted and has no WAL of its own.
 */
export async function backupDatabase(client: Client, destination: string): Promise<BackupResult> {
  if (await exists(destination)) throw new Error(`${destination} exists; backups never overwrite`);
  const started = performance.now();
  const partial = join(dirname(destination), `.${basename(destination)}.partial`);
  await rm(partial, { force: true });
  await client.execute({ sql: "VACUUM INTO ?", args: [partial] });
  // A backup holds what the database holds (signing keys, webhook secrets): owner-only, like it.
  await chmod(partial, 0o600);
  // Renamed only once complete, so a crash mid-backup never leaves something that looks like a backup.
  await rename(partial, destination);
  return {
    path: destination,
    bytes: (await stat(destination)).size,
    durationMs: performance.now() - started,
  };
}

export interface BackupVerification {
  ok: boolean;
  integrity: string;
  /** Applied migrations, by count; a backup from a newer release than the code is refused on restore. */
  migrations: number;
  tenants: number;
  /** Every tenant's audit chain, plus the platform chain. */
  chains: (ChainVerification & { tenantId: string })[];
  /** How many signed checkpoints the chains were held to (0: tail deletion could not be checked). */
  checkpoints: number;
  /** The backup predates keyed audit chains (migration 0018): its chains were checked by the unkeyed rule. */
  predatesKeying: boolean;
  problems: string[];
}

export interface VerifyBackupOptions {
  /** The audit key the chains were written with (AUDIT_HMAC_KEY, or the key file beside the database). */
  key: AuditKey;
  /** Signed checkpoints to hold the chains to: the file beside the backup (`readCheckpointFile`), or later. */
  checkpoints?: AuditCheckpoint[];
}

/**
 * Opens a backup read-only-in-practice (nothing is written) and checks its integrity and every audit chain,
 * each held to its checkpoint when one is given. A backup from before keyed chains is checked on a
 * migrated temporary copy, by the unkeyed rule.
 */
export async function verifyBackup(path: string, options: VerifyBackupOptions): Promise<BackupVerification> {
  if (!(await exists(path))) throw new Error(`${path} does not exist`);
  const client = createClient({ url: `file:${path}` });
  let scratch: { db: Db; close(): Promise<void> } | undefined;
  try {
    const problems: string[] = [];
    const integrity = String((await client.execute("PRAGMA integrity_check")).rows[0]?.[0] ?? "no answer");
    if (integrity !== "ok") problems.push(`integrity_check: ${integrity}`);
    const migrations = await countRows(client, "__drizzle_migrations");
    const checkpoints = options.checkpoints ?? [];
    if (migrations === 0) {
      problems.push("no applied migrations: not a control-plane database");
      return {
        ok: false,
        integrity,
        migrations,
        tenants: 0,
        chains: [],
        checkpoints: 0,
        predatesKeying: false,
        problems,
      };
    }
    const tenantIds = (await client.execute("SELECT id FROM tenants ORDER BY id")).rows.map((r) =>
      String(r[0]),
    );
    const chainIds = (
      await client.execute("SELECT DISTINCT tenant_id FROM audit_log ORDER BY tenant_id")
    ).rows.map((r) => String(r[0]));
    const predatesKeying = !(await client.execute("PRAGMA table_info(audit_log)")).rows.some(
      (r) => r["name"] === "chain_version",
    );
    if (predatesKeying) scratch = await migratedCopy(path);
    const db = scratch?.db ?? drizzle(client, { schema });
    const byChain = new Map(checkpoints.map((c) => [c.tenantId, c]));
    const chains: BackupVerification["chains"] = [];
    // A checkpoint of a chain the backup lacks altogether is a chain deleted whole.
    for (const tenantId of new Set([...chainIds, ...tenantIds, ...byChain.keys()])) {
      const chain = await verifyChain(db, tenantId, {
        key: options.key,
        checkpoint: byChain.get(tenantId),
        predatesKeying,
      });
      chains.push({ tenantId, ...chain });
      if (chain.firstBad)
        problems.push(`audit chain of ${tenantId}: ${chain.firstBad.reason} at seq ${chain.firstBad.seq}`);
      else if (chain.checkpointProblem)
        problems.push(`audit chain of ${tenantId}: ${chain.checkpointProblem}`);
    }
    return {
      ok: problems.length === 0,
      integrity,
      migrations,
      tenants: tenantIds.length,
      chains,
      checkpoints: checkpoints.length,
      predatesKeying,
      problems,
    };
  } finally {
    client.close();
    await scratch?.close();
  }
}

/** A private, migrated copy of an old backup, so its chains can be read with this release's schema. */
async function migratedCopy(path: string): Promise<{ db: Db; close(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), "churn-verify-"));
  const copy = join(dir, "backup.db");
  await copyFile(path, copy);
  await chmod(copy, 0o600);
  const database = await openDatabase(`file:${copy}`);
  try {
    await migrateDatabase(database);
  } catch (err) {
    database.close();
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    db: database.db,
    close: async () => {
      database.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Where `npm run db -- backup` puts a backup's checkpoints: beside it. */
export function checkpointFilePath(backupPath: string): string {
  return `${backupPath}.audit-checkpoints.json`;
}

/**
 * Signs every chain's head as the verified backup holds it and writes them beside the backup, owner-only:
 * kept with the backup but outside any database, so a backup whose tail is later cut, or a live database
 * rolled back to it and cut further, falls short of them. A backup that failed verification gets none.
 */
export async function writeBackupCheckpoints(
  backupPath: string,
  key: AuditKey,
  verification: BackupVerification,
  now: Date = new Date(),
): Promise<{ path: string; file: AuditCheckpointFile }> {
  if (!verification.ok) throw new Error(`${backupPath} failed verification: no checkpoints written for it`);
  const path = checkpointFilePath(backupPath);
  if (await exists(path)) throw new Error(`${path} exists; checkpoints are never overwritten`);
  const file: AuditCheckpointFile = {
    format: AUDIT_CHECKPOINT_FILE_FORMAT,
    backup: basename(backupPath),
    createdAt: now.toISOString(),
    checkpoints: verification.chains
      .filter((c) => c.entries > 0)
      .map((c) => signCheckpoint(key, { tenantId: c.tenantId, seq: c.entries, headHash: c.headHash }, now)),
  };
  const partial = join(dirname(path), `.${basename(path)}.partial`);
  await writeFile(partial, `${JSON.stringify(file, null, 2)}\n`, { mode: 0o600 });
  await chmod(partial, 0o600);
  await rename(partial, path);
  return { path, file };
}

export async function readCheckpointFile(path: string): Promise<AuditCheckpoint[]> {
  return auditCheckpointFileSchema.parse(JSON.parse(await readFile(path, "utf8"))).checkpoints;
}

/**
 * Records in every chain of a restored database, with a keyed `audit.restore` entry, that it was restored
 * from `backup`. Checkpoints signed before it no longer bind the chain (the entries after the backup are
 * gone, on purpose); without the key nobody can write such an entry, so a deleted tail stays visible.
 */
export async function recordRestore(target: string, key: AuditKey, backup: string): Promise<number> {
  const database = await openDatabase(`file:${target}`);
  try {
    await migrateDatabase(database);
    bindAuditKey(database.db, key);
    return (await appendRestoreEntries(database.db, { backup: basename(backup) })).length;
  } finally {
    database.close();
  }
}

export interface RestoreOptions extends VerifyBackupOptions {
  /** Replace an existing database file (the control plane using it must be stopped). */
  replace?: boolean;
}

/**
 * Restores `backup` to `target` after verifying it. The file is copied beside the target and renamed
 * over it, so the target is either the old database or the complete backup, never a mix; the old WAL and
 * shared-memory files are removed with it, since they belong to the old database.
 */
export async function restoreDatabase(
  backup: string,
  target: string,
  options: RestoreOptions,
): Promise<BackupVerification> {
  const verification = await verifyBackup(backup, options);
  if (!verification.ok)
    throw new Error(`backup ${backup} failed verification: ${verification.problems.join("; ")}`);
  if ((await exists(target)) && !options.replace)
    throw new Error(`${target} exists; pass --replace (with the control plane stopped) to overwrite it`);
  const staging = join(dirname(target), `.${basename(target)}.restoring`);
  await copyFile(backup, staging);
  await chmod(staging, 0o600);
  await rm(`${target}-wal`, { force: true });
  await rm(`${target}-shm`, { force: true });
  await rename(staging, target);
  return verification;
}

async function countRows(client: Client, table: string): Promise<number> {
  try {
    return Number((await client.execute(`SELECT count(*) FROM ${table}`)).rows[0]?.[0] ?? 0);
  } catch {
    return 0;
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}
