import { ChurnError } from "#shared/errors.ts";

/** SQLite result codes that say the database cannot take the statement now, not that the request is wrong. */
const UNAVAILABLE = /^SQLITE_(BUSY|LOCKED|IOERR|FULL|CANTOPEN|READONLY)/;
/** Long enough for a competing writer (a backup, a migration, another process) to finish. */
const RETRY_AFTER_SECONDS = 5;

/** libSQL's result code (`SQLITE_BUSY`, …) behind an error, looking through drizzle's wrapper. */
export function sqliteCodeOf(err: unknown): string | undefined {
  let e: unknown = err;
  for (let depth = 0; e instanceof Error && depth < 5; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string" && code.startsWith("SQLITE_")) return code;
    e = e.cause;
  }
  return undefined;
}

/**
 * A database that is locked or unavailable as the 503 a client can retry, instead of an INTERNAL 500; null
 * for any other error. A failed transaction has rolled back, so the retry starts from a clean state.
 */
export function databaseUnavailable(err: unknown): ChurnError | null {
  if (!UNAVAILABLE.test(sqliteCodeOf(err) ?? "")) return null;
  return new ChurnError("UNAVAILABLE", "The database is busy or unavailable; retry shortly", {
    cause: err,
    headers: { "retry-after": String(RETRY_AFTER_SECONDS) },
  });
}
