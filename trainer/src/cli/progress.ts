import type { TrainProgress } from "../pipeline/train-options.ts";
import type { CliIo } from "./flags.ts";

type ProgressEvent = TrainProgress | { phase: "predict"; message: string; elapsedMs: number };

/**
 * Progress for long work: on a terminal, one line redrawn in place; with --json, one JSON object per
 * event on stderr; otherwise (logs, pipes) nothing, so output stays clean.
 */
export function progressPrinter(io: CliIo, json: boolean, budgetSeconds?: number) {
  let drawn = false;
  return {
    update(event: ProgressEvent) {
      if (json) {
        io.err(`${JSON.stringify({ event: "progress", ...event })}\n`);
        return;
      }
      if (!io.errIsTty) return;
      const budget = budgetSeconds === undefined ? "" : ` of ${budgetSeconds}s`;
      const line = `[${(event.elapsedMs / 1000).toFixed(1)}s${budget}] ${event.phase}: ${event.message}`;
      const width = Math.max(process.stderr.columns ?? 0, 80);
      io.err(`\r\x1b[2K${line.length > width - 1 ? `${line.slice(0, width - 2)}…` : line}`);
      drawn = true;
    },
    clear() {
      if (drawn) io.err("\r\x1b[2K");
      drawn = false;
    },
  };
}
