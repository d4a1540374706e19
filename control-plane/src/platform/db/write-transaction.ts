import type { Client } from "@libsql/client";
import type { Db, Tx } from "./client.ts";
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
 * The queue is per process: what a second replica on the same database changes is in
 * docs/adr/0006-single-process-state.md.
 */
interface WriteQueue {
  client: Client;
  tail: Promise<unknown>;
}

const queues = new WeakMap<Db, WriteQueue>();

/** Called once by openDatabase: the database's writes queue behind each other from then on. */
export function queueWrites(db: Db, client: Client): void {
  queues.set(db, { client, tail: Promise.resolve() });
}

export function writeTransaction<T>(db: Db, work: (tx: Tx) => Promise<T>): Promise<T> {
  const queue = queues.get(db);
  const run = () =>
    db.transaction(work, { behavior: "immediate" }).catch(async (err: unknown) => {
      if (queue && sqliteCodeOf(err) === "SQLITE_BUSY") await queue.client.reconnect();
      throw err;
    });
  if (!queue) return run();
  const next = queue.tail.then(run);
  queue.tail = next.catch(() => undefined);
  return next;
}
