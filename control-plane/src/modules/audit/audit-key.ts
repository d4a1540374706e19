import { createHmac, createSecretKey, type KeyObject, randomBytes, timingSafeEqual } from "node:crypto";
import { chmod, link, mkdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { ChurnError } from "#shared/errors.ts";
import type { Config } from "../../platform/config.ts";
import type { Db, DbOrTx } from "../../platform/db/client.ts";
import { databaseOf } from "../../platform/db/write-transaction.ts";

/** Where a `file:` database's generated key lives: beside the database, never inside it. */
export const AUDIT_KEY_FILE = "audit-hmac.key";

/**
 * The audit chain's HMAC key. Held as a KeyObject so that logging or printing it by accident shows
 * `SecretKeyObject { … }`, never the bytes; `source` says where it came from, for operators.
 */
export interface AuditKey {
  readonly source: "AUDIT_HMAC_KEY" | "file" | "ephemeral";
  readonly secret: KeyObject;
}

export function auditKeyFrom(value: string, source: AuditKey["source"]): AuditKey {
  return { source, secret: createSecretKey(Buffer.from(value, "utf8")) };
}

/** HMAC-SHA256 of `message` under the audit key, in hex. */
export function auditMac(key: AuditKey, message: string): string {
  return createHmac("sha256", key.secret).update(message, "utf8").digest("hex");
}

/** Compares two hex MACs in constant time (a mismatch in length is a mismatch). */
export function sameMac(a: string, b: string): boolean {
  const x = Buffer.from(a, "utf8");
  const y = Buffer.from(b, "utf8");
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * The audit key for `config`: AUDIT_HMAC_KEY when set (production, from a secret store). Otherwise a `file:`
 * database uses `audit-hmac.key` beside it, generated on first use (owner-only) when `mayCreate` allows,
 * which the caller allows only while the database holds no keyed entry: a missing key for a keyed chain
 * means the key was lost or the database moved without it, and a new key would make every entry fail.
 * An in-memory database gets a key for the life of the process; anything else needs AUDIT_HMAC_KEY.
 */
export async function loadAuditKey(config: Config, options: { mayCreate: boolean }): Promise<AuditKey> {
  if (config.AUDIT_HMAC_KEY) return auditKeyFrom(config.AUDIT_HMAC_KEY, "AUDIT_HMAC_KEY");
  const url = config.DATABASE_URL;
  if (url.startsWith("file::memory:") || url === ":memory:")
    return auditKeyFrom(randomBytes(32).toString("base64url"), "ephemeral");
  if (!url.startsWith("file:"))
    throw new Error(
      `AUDIT_HMAC_KEY is not set: a ${url.split(":")[0]}: database needs it (≥ 32 characters, from your secret store)`,
    );
  const path = auditKeyPath(url);
  const existing = await readKeyFile(path);
  if (existing !== null) return auditKeyFrom(existing, "file");
  if (!options.mayCreate)
    throw new Error(
      `no audit key: AUDIT_HMAC_KEY is not set and ${path} does not exist. The audit chains were written with a key; set AUDIT_HMAC_KEY to it or put the key file back`,
    );
  return auditKeyFrom(await createKeyFile(path), "file");
}

/** `<directory of the database>/audit-hmac.key` for a `file:` URL. */
export function auditKeyPath(databaseUrl: string): string {
  return join(dirname(databaseUrl.slice("file:".length)), AUDIT_KEY_FILE);
}

async function readKeyFile(path: string): Promise<string | null> {
  let mode: number;
  try {
    mode = (await stat(path)).mode;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw err;
  }
  // Like ssh with a private key: a key others could have read may have been copied, so say so and stop.
  if ((mode & 0o077) !== 0)
    throw new Error(`${path} is readable by other users (mode ${(mode & 0o777).toString(8)}): chmod 600 it`);
  const value = (await readFile(path, "utf8")).trim();
  if (value.length < 32) throw new Error(`${path} holds no usable key (fewer than 32 characters)`);
  return value;
}

/**
 * Writes a new random key. It is written whole to a private temporary file and then linked into place, so
 * a process starting at the same moment either finds no key or the whole key, never half of one; of two
 * racing, the second finds the first's link and uses that key.
 */
async function createKeyFile(path: string): Promise<string> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const value = randomBytes(32).toString("base64url");
  const temporary = `${path}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
  await writeFile(temporary, `${value}\n`, { flag: "wx", mode: 0o600 });
  try {
    await chmod(temporary, 0o600);
    await link(temporary, path);
    return value;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    const theirs = await readKeyFile(path);
    if (theirs === null) throw err;
    return theirs;
  } finally {
    await rm(temporary, { force: true });
  }
}

const bound = new WeakMap<Db, AuditKey>();

/**
 * Makes `key` the audit key of everything written through `db`. `appendAudit` is handed only a
 * transaction, deep inside every module's writes; it finds the key from the transaction's database.
 */
export function bindAuditKey(db: Db, key: AuditKey): void {
  bound.set(db, key);
}

export function auditKeyOf(dbOrTx: DbOrTx): AuditKey {
  const key = bound.get(databaseOf(dbOrTx));
  if (!key)
    throw new ChurnError("INTERNAL", "no audit key bound to this database (bindAuditKey after openDatabase)");
  return key;
}
