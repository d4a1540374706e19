import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import type { Db } from "./db/client.ts";
import { dropLease, takeLease } from "./db/queries/leases.ts";
import { writeTransaction } from "./db/write-transaction.ts";

/**
 * A time-bound lease in the database, so that of several control-plane processes on one database only one
 * runs a piece of work (the scheduler) at a time. The holder renews it on each run; if it stops, another
 * process takes over once `ttlMs` has passed.
 */
export class Lease {
  /** This process's identity as a holder: host, pid and a random part (pids repeat across hosts). */
  readonly holder = `${hostname()}:${process.pid}:${randomBytes(6).toString("base64url")}`;
  readonly #db: Db;
  readonly #name: string;
  readonly #ttlMs: number;

  constructor(db: Db, name: string, ttlMs: number) {
    this.#db = db;
    this.#name = name;
    this.#ttlMs = ttlMs;
  }

  /** Takes or renews the lease; true while this process holds it. */
  acquire(now = Date.now()): Promise<boolean> {
    return writeTransaction(this.#db, (tx) => takeLease(tx, this.#name, this.holder, now, now + this.#ttlMs));
  }

  /** Gives the lease up (on shutdown), so another process need not wait for it to expire. */
  release(): Promise<void> {
    return writeTransaction(this.#db, (tx) => dropLease(tx, this.#name, this.holder));
  }
}
