import type { Logger } from "./env.ts";

/** JSON lines on stdout; callers pass events that never contain secrets, tokens or raw records. */
export function jsonLogger(level: "debug" | "info" | "warn" | "error" | "silent", service: string): Logger {
  const write = (lvl: string, event: Record<string, unknown>) =>
    process.stdout.write(
      `${JSON.stringify({ time: new Date().toISOString(), level: lvl, service, ...event })}\n`,
    );
  const quiet = level === "silent";
  const infoOn = level === "debug" || level === "info";
  return {
    info: (event) => {
      if (!quiet && infoOn) write("info", event);
    },
    error: (event) => {
      if (!quiet) write("error", event);
    },
  };
}
