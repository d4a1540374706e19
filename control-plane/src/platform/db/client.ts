import { chmodSync, existsSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { type Client, createClient } from "@libsql/client";
import { sql } from "drizzle-orm";
import { drizzle, type LibSQLDatabase } from "drizzle-orm/libsql";
import { migrate } from "drizzle-orm/libsql/migrator";
import * as schema from "./schema/index.ts";
import { queueWrites } from "./write-transaction.ts";

export type Db = LibSQLDatabase<typeof schema>;
export type Tx = Parameters<Parameters<Db["transaction"]>[0]>[0];
export type DbOrTx = Db | Tx;

export interface Database {
  db: Db;
  client: Client;
  close(): void;
}

const MIGRATIONS_FOLDER = new URL("../../../../migrations", import.meta.url).pathname;

export async function openDatabase(url: string, authToken?: string): Promise<Database> {
  if (url.startsWith("file:") && !url.startsWith("file::memory:")) keepPrivate(url.slice("file:".length));
  // `timeout` is the busy timeout of every pooled connection (a PRAGMA below would reach only one of them).
  const client = createClient({ url, timeout: 5000, ...(authToken ? { authToken } : {}) });
  if (url.startsWith("file:")) {
    // WAL lets readers proceed during a write; busy_timeout waits out a concurrent writer instead of failing.
    await client.execute("PRAGMA journal_mode = WAL");
    await client.execute("PRAGMA busy_timeout = 5000");
    await client.execute("PRAGMA foreign_keys = ON");
  }
  const db = drizzle(client, { schema });
  queueWrites(db, client, url);
  return { db, client, close: () => client.close() };
}

/**
 * The database holds signing keys, webhook secrets and hashed credentials: its directory is created
 * owner-only, and the file itself is made owner-only before SQLite opens it, so the WAL and shared-memory
 * files SQLite creates beside it take the same mode. An existing directory keeps its mode (it may be a
 * mounted volume shared with other files); the database files are this process's own.
 */
function keepPrivate(path: string): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  // An empty file is an empty SQLite database; `wx` leaves an existing one alone.
  try {
    writeFileSync(path, "", { flag: "wx", mode: 0o600 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
  }
  for (const file of [path, `${path}-wal`, `${path}-shm`]) {
    if (existsSync(file)) chmodSync(file, 0o600);
  }
}

/**
 * Applies pending migrations. Processes starting together on one database race here: each reads the
 * applied list, and all but the first fail on a table that now exists (their transaction rolls back, the
 * database's write lock keeps the first whole). Trying again then finds nothing pending, so every process
 * starts on the same schema.
 */
export async function migrateDatabase(database: Database): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await migrate(database.db, { migrationsFolder: MIGRATIONS_FOLDER });
      return;
    } catch (err) {
      if (attempt >= MIGRATION_ATTEMPTS) throw err;
      await new Promise((r) => setTimeout(r, 100 * attempt));
    }
  }
}

const MIGRATION_ATTEMPTS = 5;

/** Whether the database answers: the readiness probe. */
export async function ping(db: Db): Promise<void> {
  await db.run(sql`select 1`);
}
