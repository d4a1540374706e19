/** All timestamps cross boundaries as ISO-8601 UTC strings and are stored as epoch milliseconds. */
export const nowMs = (): number => Date.now();
export const toIso = (ms: number): string => new Date(ms).toISOString();
export const epochSeconds = (ms: number = Date.now()): number => Math.floor(ms / 1000);

/** Durations in milliseconds, defined once for every service. */
export const MINUTE_MS = 60_000;
export const HOUR_MS = 60 * MINUTE_MS;
export const DAY_MS = 24 * HOUR_MS;
