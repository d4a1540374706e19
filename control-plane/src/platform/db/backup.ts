import { chmod, copyFile, rename, rm, stat } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { type Client, createClient } from "@libsql/client";
import { drizzle } from "drizzle-orm/libsql";
import { type ChainVerification, verifyChain } from "../../modules/audit/audit-chain.ts";
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
  problems: string[];
}

/** Opens a backup read-only-in-practice (nothing is written) and checks its integrity and every audit chain. */
export async function verifyBackup(path: string): Promise<BackupVerification> {
  if (!(await exists(path))) throw new Error(`${path} does not exist`);
  const client = createClient({ url: `file:${path}` });
  try {
    const problems: string[] = [];
    const integrity = String((await client.execute("PRAGMA integrity_check")).rows[0]?.[0] ?? "no answer");
    if (integrity !== "ok") problems.push(`integrity_check: ${integrity}`);
    const migrations = await countRows(client, "__drizzle_migrations");
    if (migrations === 0) {
      problems.push("no applied migrations: not a control-plane database");
      return { ok: false, integrity, migrations, tenants: 0, chains: [], problems };
    }
    const tenantIds = (await client.execute("SELECT id FROM tenants ORDER BY id")).rows.map((r) =>
      String(r[0]),
    );
    const chainIds = (
      await client.execute("SELECT DISTINCT tenant_id FROM audit_log ORDER BY tenant_id")
    ).rows.map((r) => String(r[0]));
    const db = drizzle(client, { schema });
    const chains: BackupVerification["chains"] = [];
    for (const tenantId of new Set([...chainIds, ...tenantIds])) {
      const chain = await verifyChain(db, tenantId);
      chains.push({ tenantId, ...chain });
      if (!chain.ok)
        problems.push(`audit chain of ${tenantId}: ${chain.firstBad?.reason} at seq ${chain.firstBad?.seq}`);
    }
    return { ok: problems.length === 0, integrity, migrations, tenants: tenantIds.length, chains, problems };
  } finally {
    client.close();
  }
}

export interface RestoreOptions {
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
  options: RestoreOptions = {},
): Promise<BackupVerification> {
  const verification = await verifyBackup(backup);
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
