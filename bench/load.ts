/**
 * `npm run bench:load`: the platform as `npm start` runs it (edge in workerd, control plane on libSQL),
 * each driven at saturation by wrk for BENCH_SECONDS (default 60): the edge with one-record predictions,
 * the control plane with deployment reads. Reports throughput, p50/p99/p99.9, errors, and the resident
 * memory of workerd and of the control-plane process at the start and end of each run.
 *
 * Memory is read at the start of each measured run and again after it, both times once the platform is
 * idle: the control plane has ingested every prediction event the edge queued (its ingest counter has
 * stopped moving) and a short settle (BENCH_SETTLE_MS, default 5 s) has passed. Each run is preceded by
 * a warm-up as long as the run itself (BENCH_WARMUP_SECONDS), so the start reading is taken at the heap
 * plateau rather than on a half-grown heap; a leak still shows, as growth over the measured run.
 * Verdict (a benchmark verdict, not a test): FAIL, exit 1, when any request errored or a process's RSS
 * grew by more than 10 % over a run. Writes bench/results/load.json.
 */
import { readdirSync, readFileSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { startPlatform } from "../scripts/lib/platform.ts";
import { SAMPLE_CUSTOMER } from "../test/helpers/model-fixture.ts";
import { type LoadResult, wrk } from "./lib/wrk.ts";

const seconds = Number(process.env["BENCH_SECONDS"] ?? 60);
const connections = Number(process.env["BENCH_CONNECTIONS"] ?? 16);
/** RSS growth over a run above this share fails the verdict. */
const MAX_RSS_GROWTH = 0.1;
const warmupSeconds = Number(process.env["BENCH_WARMUP_SECONDS"] ?? seconds);
/** Idle time before memory is read, once ingest has gone quiet. */
const SETTLE_MS = Number(process.env["BENCH_SETTLE_MS"] ?? 5_000);
/** The edge reads rate limits through its KV cache: how long a limit change takes to reach it. */
const LIMITS_REFRESH_MS = 15_000;
/** Ingest counts as quiet when its counter has not moved for this long... */
const QUIET_MS = 5_000;
/** ...and waiting for that gives up after this long (the reading is then flagged). */
const MAX_DRAIN_MS = 180_000;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Resident set size of a process, from /proc, in MiB. */
function rssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? Number.NaN) / 1024;
}

/** The workerd processes this process started (Miniflare spawns them as children). */
function workerdPids(): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const comm = /\(([^)]*)\)/.exec(stat)?.[1];
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (comm === "workerd" && ppid === process.pid) pids.push(Number(entry));
    } catch {
      // The process ended while being read.
    }
  }
  return pids;
}

interface Memory {
  workerdMiB: number;
  controlPlaneMiB: number;
}

function memory(): Memory {
  return {
    workerdMiB: workerdPids().reduce((sum, pid) => sum + rssMiB(pid), 0),
    controlPlaneMiB: rssMiB(process.pid),
  };
}

/** Sum of the control plane's ingested-event counters, from its Prometheus endpoint. */
async function ingestedEvents(controlPlaneUrl: string, metricsToken: string): Promise<number> {
  const res = await fetch(`${controlPlaneUrl}/metrics`, {
    headers: { authorization: `Bearer ${metricsToken}` },
  });
  if (!res.ok) throw new Error(`metrics scrape failed: ${res.status}`);
  let total = 0;
  for (const line of (await res.text()).split("\n")) {
    if (line.startsWith("churn_ingest_events_total")) total += Number(line.slice(line.lastIndexOf(" ") + 1));
  }
  return total;
}

/**
 * Waits until the queue's backlog of prediction events has been delivered: the ingest counter has held
 * still for QUIET_MS. Returns how long that took, and whether it did within MAX_DRAIN_MS.
 */
async function waitForIngestToDrain(
  controlPlaneUrl: string,
  metricsToken: string,
): Promise<{ drainMs: number; drained: boolean }> {
  const started = Date.now();
  let last = await ingestedEvents(controlPlaneUrl, metricsToken);
  let stillSince = Date.now();
  while (Date.now() - started < MAX_DRAIN_MS) {
    await sleep(1_000);
    const now = await ingestedEvents(controlPlaneUrl, metricsToken);
    if (now !== last) {
      last = now;
      stillSince = Date.now();
    } else if (Date.now() - stillSince >= QUIET_MS) {
      return { drainMs: Date.now() - started, drained: true };
    }
  }
  return { drainMs: Date.now() - started, drained: false };
}

interface Run {
  name: string;
  result: LoadResult;
  memoryStart: Memory;
  memoryEnd: Memory;
  /** Time the queue's backlog took to reach the control plane after the measured run. */
  drainAfterRunMs: number;
  rssGrowth: { workerd: number; controlPlane: number };
  errors: number;
}

const dir = await mkdtemp(join(tmpdir(), "churn-bench-load-"));
const platform = await startPlatform({
  dataDir: join(dir, "data"),
  controlPlanePort: 0,
  edgePort: 0,
  progress: (line) => console.error(`load: ${line}`),
});
try {
  const { state } = platform;
  const basic = Buffer.from(`${state.clientId}:${state.clientSecret}`).toString("base64");
  const tokenRes = await fetch(`${state.controlPlaneUrl}/v1/oauth/token`, {
    method: "POST",
    headers: { authorization: `Basic ${basic}`, "content-type": "application/x-www-form-urlencoded" },
    body: "grant_type=client_credentials&scope=predict",
  });
  if (!tokenRes.ok) throw new Error(`token request failed: ${tokenRes.status} ${await tokenRes.text()}`);
  const { access_token: token } = (await tokenRes.json()) as { access_token: string };
  // The demo tenant's default edge limit (1,000 req/s) would answer part of a saturating run with 429:
  // lift it, so the run measures capacity rather than the limiter.
  const limits = await fetch(`${state.controlPlaneUrl}/v1/settings/limits`, {
    method: "PUT",
    headers: { authorization: `Bearer ${state.ownerToken}`, "content-type": "application/json" },
    body: JSON.stringify({ ratePerSecond: 100_000, burst: 200_000 }),
  });
  if (!limits.ok) throw new Error(`setting limits failed: ${limits.status} ${await limits.text()}`);
  // The edge reads limits through its KV cache; wait out its refresh window.
  await sleep(LIMITS_REFRESH_MS);
  const idle = async () => {
    const drain = await waitForIngestToDrain(state.controlPlaneUrl, state.metricsToken);
    if (!drain.drained) throw new Error(`ingest still busy after ${MAX_DRAIN_MS / 1000} s; memory not read`);
    await sleep(SETTLE_MS);
    return drain;
  };

  const targets: {
    name: string;
    url: string;
    method: string;
    headers: Record<string, string>;
    body?: string;
  }[] = [
    {
      name: "edge: POST /v1/predict, 1 record",
      url: `${state.edgeUrl}/v1/predict`,
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({ records: [SAMPLE_CUSTOMER] }),
    },
    {
      name: "control plane: GET /v1/deployment",
      url: `${state.controlPlaneUrl}/v1/deployment`,
      method: "GET",
      headers: { authorization: `Bearer ${state.ownerToken}` },
    },
  ];

  const runs: Run[] = [];
  for (const target of targets) {
    // Warm-up: JIT, isolate caches, connection pools and heaps reach their working size first.
    await wrk({ ...target, connections, seconds: warmupSeconds });
    // Memory is read once the platform is idle again: the queue's backlog of prediction events is
    // delivered and ingested after a run, and counting it as growth would blame the wrong thing.
    await idle();
    const memoryStart = memory();
    const result = await wrk({ ...target, connections, seconds });
    const { drainMs } = await idle();
    const memoryEnd = memory();
    const growth = (end: number, start: number) => (start > 0 ? end / start - 1 : 0);
    const run: Run = {
      name: target.name,
      result,
      memoryStart,
      memoryEnd,
      drainAfterRunMs: drainMs,
      rssGrowth: {
        workerd: growth(memoryEnd.workerdMiB, memoryStart.workerdMiB),
        controlPlane: growth(memoryEnd.controlPlaneMiB, memoryStart.controlPlaneMiB),
      },
      errors: result.httpErrors + result.socketErrors,
    };
    runs.push(run);
    console.error(
      `load: ${run.name}: ${result.requestsPerSec.toFixed(0)} req/s, p50 ${result.p50Ms.toFixed(1)} ms, ` +
        `p99 ${result.p99Ms.toFixed(1)} ms, p99.9 ${result.p999Ms.toFixed(1)} ms, errors ${run.errors}, ` +
        `RSS workerd ${memoryStart.workerdMiB.toFixed(0)}→${memoryEnd.workerdMiB.toFixed(0)} MiB, ` +
        `control plane ${memoryStart.controlPlaneMiB.toFixed(0)}→${memoryEnd.controlPlaneMiB.toFixed(0)} MiB`,
    );
  }

  const failures = runs.flatMap((r) => [
    ...(r.errors > 0 ? [`${r.name}: ${r.errors} errors`] : []),
    ...(r.rssGrowth.workerd > MAX_RSS_GROWTH
      ? [`${r.name}: workerd RSS grew ${(100 * r.rssGrowth.workerd).toFixed(1)} %`]
      : []),
    ...(r.rssGrowth.controlPlane > MAX_RSS_GROWTH
      ? [`${r.name}: control-plane RSS grew ${(100 * r.rssGrowth.controlPlane).toFixed(1)} %`]
      : []),
  ]);
  const report = {
    at: new Date().toISOString(),
    seconds,
    warmupSeconds,
    connections,
    runs,
    verdict: failures.length === 0 ? "PASS" : "FAIL",
    failures,
  };
  const out = resolve(import.meta.dirname, "results/load.json");
  await mkdir(resolve(import.meta.dirname, "results"), { recursive: true });
  await writeFile(out, `${JSON.stringify(report, null, 2)}\n`);
  console.log(JSON.stringify(report, null, 2));
  console.error(`load: verdict ${report.verdict}${failures.length ? `: ${failures.join("; ")}` : ""}`);
  if (failures.length > 0) process.exitCode = 1;
} finally {
  await platform.stop();
  await rm(dir, { recursive: true, force: true });
}
