import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { ensureCommand } from "./debian.ts";

export interface LoadResult {
  requestsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  p999Ms: number;
  requests: number;
  /** Responses with status >= 400. */
  httpErrors: number;
  socketErrors: number;
}

/** Drives `url` with wrk (Debian's package) on loopback; a Lua script sets the body and prints percentiles. */
export async function wrk(options: {
  url: string;
  connections: number;
  seconds: number;
  threads?: number;
  method?: string;
  headers?: Record<string, string>;
  body?: string;
}): Promise<LoadResult> {
  ensureCommand("wrk", "wrk");
  const dir = await mkdtemp(join(tmpdir(), "churn-wrk-"));
  try {
    const script = join(dir, "script.lua");
    const headerLines = Object.entries(options.headers ?? {})
      .map(([k, v]) => `wrk.headers[${JSON.stringify(k)}] = ${JSON.stringify(v)}`)
      .join("\n");
    await writeFile(
      script,
      `wrk.method = ${JSON.stringify(options.method ?? "GET")}
${headerLines}
${options.body ? `wrk.body = ${luaString(options.body)}` : ""}
function done(summary, latency, requests)
  io.write(string.format("RESULT %d %d %d %d %d %d %d\\n", summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(99), latency:percentile(99.9),
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.errors.status))
end
`,
    );
    const { stdout } = await promisify(execFile)(
      "wrk",
      [
        `-t${options.threads ?? 2}`,
        `-c${options.connections}`,
        `-d${options.seconds}s`,
        "--timeout",
        "10s",
        "-s",
        script,
        options.url,
      ],
      { maxBuffer: 4 * 1024 * 1024 },
    );
    const line = stdout.split("\n").find((l) => l.startsWith("RESULT"));
    if (!line) throw new Error(`wrk printed no result:\n${stdout}`);
    const [requests, durationUs, p50, p99, p999, socketErrors, statusErrors] = line
      .split(" ")
      .slice(1)
      .map(Number) as [number, number, number, number, number, number, number];
    return {
      requestsPerSec: requests / (durationUs / 1e6),
      p50Ms: p50 / 1000,
      p99Ms: p99 / 1000,
      p999Ms: p999 / 1000,
      requests,
      httpErrors: statusErrors,
      socketErrors,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function luaString(text: string): string {
  return `"${text.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")}"`;
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}
