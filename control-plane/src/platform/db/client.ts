import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { type Client, createClient } from "@libsql/client";
import { drizzle, type LibSQLDatabase } from "drizzle-orm/libsql";
import { migrate } from "drizzle-orm/libsql/migrator";
import * as schema from "./schema/index.ts";
import { sqliteCodeOf } from "./unavailable.ts";

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
  if (url.startsWith("file:") && !url.startsWith("file::memory:")) {
    mkdirSync(dirname(url.slice("file:".length)), { recursive: true });
  }
  // `timeout` is the busy timeout of every pooled connection (a PRAGMA below would reach only one of them).
  const client = createClient({ url, timeout: 5000, ...(authToken ? { authToken } : {}) });
  if (url.startsWith("file:")) {
    // WAL lets readers proceed during a write; busy_timeout waits out a concurrent writer instead of failing.
    await client.execute("PRAGMA journal_mode = WAL");
    await client.execute("PRAGMA busy_timeout = 5000");
    await client.execute("PRAGMA foreign_keys = ON");
  }
  const db = serializeTransactions(drizzle(client, { schema }), client);
  return { db, client, close: () => client.close() };
}

/**
 * Runs this process's write transactions one at a time. libsql's calls are synchronous, so a second
 * BEGIN IMMEDIATE on another pooled connection cannot wait for the first (whose holder never gets the
 * event loop back) and fails with SQLITE_BUSY; queueing them here turns that into an ordinary wait.
 *
 * Another process can still hold the lock past the busy timeout. The native binding then leaves the failed
 * statement in progress on its pooled connection, and every later COMMIT there fails ("SQL statements in
 * progress", tursodatabase/libsql-client-ts#352). Reopening the pool after a busy failure drops that
 * connection; no other transaction is open at that point, and plain statements never hold a connection.
 */
function serializeTransactions(db: Db, client: Client): Db {
  const run = db.transaction.bind(db);
  let tail: Promise<unknown> = Promise.resolve();
  db.transaction = ((...args: Parameters<Db["transaction"]>) => {
    const next = tail.then(() =>
      run(...args).catch(async (err: unknown) => {
        if (sqliteCodeOf(err) === "SQLITE_BUSY") await client.reconnect();
        throw err;
      }),
    );
    tail = next.catch(() => undefined);
    return next;
  }) as Db["transaction"];
  return db;
}

export async function migrateDatabase(database: Database): Promise<void> {
  await migrate(database.db, { migrationsFolder: MIGRATIONS_FOLDER });
}
