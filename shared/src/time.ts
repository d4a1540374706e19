/** All timestamps cross boundaries as ISO-8601 UTC strings and are stored as epoch milliseconds. */
export const nowMs = (): number => Date.now();
export const toIso = (ms: number): string => new Date(ms).toISOString();
export const epochSeconds = (ms: number = Date.now()): number => Math.floor(ms / 1000);

/** Durations in milliseconds, defined once for every service. */
export const MINUTE_MS = 60_000;
export const HOUR_MS = 60 * MINUTE_MS;
export const DAY_MS = 24 * HOUR_MS;

/** The calendar month (UTC) holding `ms`, as `YYYY-MM`: monthly quotas and usage are counted per month. */
export function monthOf(ms: number): string {
  const d = new Date(ms);
  return `${d.getUTCFullYear()}-${String(d.getUTCMonth() + 1).padStart(2, "0")}`;
}

/** The first instant of a `YYYY-MM` month (UTC) and the first instant of the next, which ends it. */
export function monthBounds(month: string): { startsAt: number; endsAt: number } {
  const year = Number(month.slice(0, 4));
  const index = Number(month.slice(5, 7)) - 1;
  return { startsAt: Date.UTC(year, index, 1), endsAt: Date.UTC(year, index + 1, 1) };
}
