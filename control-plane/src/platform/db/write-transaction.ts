import type { Client } from "@libsql/client";
import type { Db, DbOrTx, Tx } from "./client.ts";
import { sqliteCodeOf } from "./unavailable.ts";

/**
 * Every write goes through `writeTransaction`: BEGIN IMMEDIATE, one at a time per process.
 *
 * libsql's calls are synchronous, so a second BEGIN IMMEDIATE on another pooled connection cannot wait
 * for the first (whose holder never gets the event loop back) and fails with SQLITE_BUSY; queueing them
 * here turns that into an ordinary wait. Another process can still hold the lock past the busy timeout.
 * The native binding then leaves the failed statement in progress on its pooled connection, and every
 * later COMMIT there fails ("SQL statements in progress", tursodatabase/libsql-client-ts#352). Reopening
 * the pool after a busy failure drops that connection; no other transaction is open at that point, and
 * plain statements never hold a connection.
 *
 * The queue is per database file within a process: two clients of one file in one process (tests that
 * run two control planes side by side) would otherwise block each other the same way. Other processes
 * meet SQLite's lock and its busy timeout; what a second replica changes is in
 * docs/adr/0006-single-process-state.md.
 */
interface WriteQueue {
  client: Client;
  lane: { tail: Promise<unknown> };
}

const queues = new WeakMap<Db, WriteQueue>();
/** One lane per database file (or other URL) in this process, shared by every client opened on it. */
const lanes = new Map<string, { tail: Promise<unknown> }>();
/** The database each open transaction belongs to: per-database settings reach code handed only a `tx`. */
const owners = new WeakMap<Tx, Db>();

/** The database a transaction (from `writeTransaction`) belongs to; a database is its own. */
export function databaseOf(dbOrTx: DbOrTx): Db {
  return owners.get(dbOrTx as Tx) ?? (dbOrTx as Db);
}

/** Called once by openDatabase: writes to the same database queue behind each other from then on. */
export function queueWrites(db: Db, client: Client, url: string): void {
  let lane = lanes.get(url);
  if (!lane) {
    lane = { tail: Promise.resolve() };
    lanes.set(url, lane);
  }
  queues.set(db, { client, lane });
}

export function writeTransaction<T>(db: Db, work: (tx: Tx) => Promise<T>): Promise<T> {
  const queue = queues.get(db);
  const run = () =>
    db
      .transaction(
        (tx) => {
          owners.set(tx, db);
          return work(tx);
        },
        { behavior: "immediate" },
      )
      .catch(async (err: unknown) => {
        if (queue && sqliteCodeOf(err) === "SQLITE_BUSY") await queue.client.reconnect();
        throw err;
      });
  if (!queue) return run();
  const next = queue.lane.tail.then(run);
  queue.lane.tail = next.catch(() => undefined);
  return next;
}
