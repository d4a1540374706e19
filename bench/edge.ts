import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { cpus, loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { buildEdge, ensureEdgeBuilt } from "../scripts/lib/edge-build.ts";
import { processCpuNs, processCpuNsWithEndedThreads, workerdPid } from "./lib/process-cpu.ts";
import { type PythonService, pythonServiceUnavailable, startPythonService } from "./lib/python-service.ts";
import { prepareEdgeBench } from "./lib/seeded-edge.ts";
import { type LoadResult, median, percentile, wrk } from "./lib/wrk.ts";

/**
 * `npm run bench:edge`: the built bundle served by workerd through Miniflare directly (as `npm start` does),
 * driven by wrk on loopback. Beside it, in the same sitting, the Python service such systems are usually
 * built as (bench/python/service.py: FastAPI + uvicorn, scikit-learn + XGBoost) takes the same 1-record
 * body at the same connection counts and durations, the two alternating, so the comparison is of figures
 * from one machine and one run. Needs python3 with fastapi, uvicorn, xgboost, scikit-learn and pandas
 * (Debian's packages are installed when missing) and the Telco export beside the repository; without the
 * export the Python side is skipped and said so. BENCH_SECONDS (default 10) sets each run's length,
 * BENCH_ROUNDS (default 5) the rounds and BENCH_WARM_SECONDS (default 15) the untimed load on each edge route
 * before them. Prints JSON and writes bench/results/edge.json.
 */
const seconds = Number(process.env["BENCH_SECONDS"] ?? 10);
/**
 * workerd's JIT takes its time: a fresh isolate serving one-record predicts at 16 connections climbed from
 * ~1,400 to ~2,100 req/s over its first 15 s of load. The rounds compare the two routes in steady state, as a
 * long-lived isolate serves them, so both are driven this long first, untimed.
 */
const warmSeconds = Number(process.env["BENCH_WARM_SECONDS"] ?? 15);
const loadAverageAtStart = loadavg().map((x) => Number(x.toFixed(2)));

await ensureEdgeBuilt((line) => console.error(line));
const bundle = await buildEdge();
const dir = await mkdtemp(join(tmpdir(), "churn-bench-edge-"));
const setup = await prepareEdgeBench(dir);
const { startSeededEdge, headers, oneRecord, batch } = setup;

async function timed(url: string, body: string): Promise<number> {
  const started = performance.now();
  const res = await fetch(url, { method: "POST", headers, body });
  await res.arrayBuffer();
  if (!res.ok) throw new Error(`HTTP ${res.status}`);
  return performance.now() - started;
}

// Cold start: a fresh workerd process (fresh isolate) per run, timed from the first request to its answer.
const coldRuns: number[] = [];
for (let i = 0; i < 7; i++) {
  const edge = await startSeededEdge();
  coldRuns.push(await timed(`${edge.url}/v1/predict`, oneRecord));
  await edge.close();
}

const edge = await startSeededEdge();
const predictUrl = `${edge.url}/v1/predict`;
for (let i = 0; i < 200; i++) await timed(predictUrl, oneRecord); // warm up

const batchRuns: number[] = [];
for (let i = 0; i < 30; i++) batchRuns.push(await timed(predictUrl, batch));

// The Python service is trained and started now, with nothing being timed, and warmed like the edge.
const pythonSkipped = pythonServiceUnavailable();
if (pythonSkipped) console.error(`bench/edge: Python service skipped, ${pythonSkipped}`);
const python: PythonService | undefined = pythonSkipped
  ? undefined
  : await startPythonService(dir, oneRecord);

// Alternate the trivial route, the edge's predict and the Python service's predict over the rounds, swapping
// which predict goes first, and compare in-run ratios (each predict run against the trivial runs either side
// of it): the machine is noisy. CPU time per request (all the process's threads; for workerd: the worker,
// and Miniflare's KV, queue and Durable Objects) is read from /proc around each run; it moves much less than
// req/s when the box is shared. A predict's events are
// batched and delivered by the queue's consumer after its response: every run's CPU is read after a pause
// that lets that work finish, so each run is charged its own events and the next run starts on an idle
// worker.
const pid = workerdPid();
const DRAIN_MS = 3_000;
type MeasuredRun = LoadResult & { cpuUsPerRequest?: number };
async function measured(
  processId: number | undefined,
  options: Parameters<typeof wrk>[0],
  cpuNs: (pid: number) => number = processCpuNs,
): Promise<MeasuredRun> {
  const before = processId === undefined ? undefined : cpuNs(processId);
  const run = await wrk(options);
  await new Promise((done) => setTimeout(done, DRAIN_MS));
  if (processId === undefined || before === undefined) return run;
  return { ...run, cpuUsPerRequest: (cpuNs(processId) - before) / 1e3 / run.requests };
}
const ROUNDS = Number(process.env["BENCH_ROUNDS"] ?? 5);
/** Per round, the trivial route's runs just before and just after the predict run. */
const trivialRuns: [MeasuredRun, MeasuredRun][] = [];
const predictRuns: MeasuredRun[] = [];
const predict1Runs: MeasuredRun[] = [];
const pythonRuns: MeasuredRun[] = [];
const python1Runs: MeasuredRun[] = [];
try {
  if (python) {
    const pythonUrl = `${python.url}/v1/predict`;
    for (let i = 0; i < 200; i++) {
      const res = await fetch(pythonUrl, { method: "POST", headers: python.headers, body: oneRecord });
      await res.arrayBuffer();
      if (!res.ok) throw new Error(`Python service: HTTP ${res.status}`);
    }
  }
  await wrk({
    url: predictUrl,
    connections: 16,
    seconds: warmSeconds,
    method: "POST",
    headers,
    body: oneRecord,
  });
  await wrk({ url: `${edge.url}/v1/health`, connections: 16, seconds: Math.max(1, warmSeconds / 3) });
  // One connection has wrk on one thread (two threads would need two connections).
  const edgeRun = (connections: number) =>
    measured(pid, {
      url: predictUrl,
      connections,
      ...(connections === 1 ? { threads: 1 } : {}),
      seconds,
      method: "POST",
      headers,
      body: oneRecord,
    });
  const pythonRun = (service: PythonService, connections: number) =>
    measured(
      service.pid,
      {
        url: `${service.url}/v1/predict`,
        connections,
        ...(connections === 1 ? { threads: 1 } : {}),
        seconds,
        method: "POST",
        headers: service.headers,
        body: oneRecord,
      },
      // uvicorn's thread pool retires idle threads between runs, taking their schedstat with them.
      processCpuNsWithEndedThreads,
    );
  const trivialRun = () => measured(pid, { url: `${edge.url}/v1/health`, connections: 16, seconds });
  for (const connections of [16, 1]) {
    for (let i = 0; i < ROUNDS; i++) {
      const edgeRuns = connections === 16 ? predictRuns : predict1Runs;
      const pyRuns = connections === 16 ? pythonRuns : python1Runs;
      if (python && i % 2 === 1) pyRuns.push(await pythonRun(python, connections));
      if (connections === 16) {
        // Trivial, predict, trivial: the predict run is compared with the mean of the runs either side of
        // it, so a machine that speeds up or slows down over the round does not pass for a difference.
        const before = await trivialRun();
        edgeRuns.push(await edgeRun(connections));
        trivialRuns.push([before, await trivialRun()]);
      } else {
        edgeRuns.push(await edgeRun(connections));
      }
      if (python && i % 2 === 0) pyRuns.push(await pythonRun(python, connections));
      console.error(
        `${connections} connection(s), round ${i + 1}/${ROUNDS}: edge ${edgeRuns.at(-1)!.requestsPerSec.toFixed(0)} req/s${python ? `, Python ${pyRuns.at(-1)!.requestsPerSec.toFixed(0)} req/s` : ""}`,
      );
    }
  }
} finally {
  await python?.stop();
}
const mean = (a: number, b: number) => (a + b) / 2;
const cpuRatios = predictRuns.flatMap((p, i) => {
  const [before, after] = trivialRuns[i]!;
  return p.cpuUsPerRequest && before.cpuUsPerRequest && after.cpuUsPerRequest
    ? [mean(before.cpuUsPerRequest, after.cpuUsPerRequest) / p.cpuUsPerRequest]
    : [];
});
const medianRun = (runs: LoadResult[]) =>
  [...runs].sort((x, y) => x.requestsPerSec - y.requestsPerSec)[Math.floor(runs.length / 2)]!;
const allTrivialRuns = trivialRuns.flat();
const trivial = medianRun(allTrivialRuns);
const predict16 = medianRun(predictRuns);
const predict1 = medianRun(predict1Runs);
const ratios = predictRuns.map(
  (p, i) => p.requestsPerSec / mean(trivialRuns[i]![0].requestsPerSec, trivialRuns[i]![1].requestsPerSec),
);
await edge.close();
setup.close();
await rm(dir, { recursive: true, force: true });

const throughputs = (runs: LoadResult[]) => runs.map((r) => Number(r.requestsPerSec.toFixed(1)));
const results = {
  measuredAt: new Date().toISOString(),
  cpus: cpus().length,
  loadAverageAtStart,
  loadAverageAtEnd: loadavg().map((x) => Number(x.toFixed(2))),
  secondsPerRun: seconds,
  warmUpSeconds: warmSeconds,
  rounds: ROUNDS,
  bundle,
  coldStartFirstPredictMs: { median: median(coldRuns), runs: coldRuns },
  batch1000ExplainMs: { median: median(batchRuns), p99: percentile(batchRuns, 99) },
  trivialRoute16: trivial,
  /** Median (by req/s) of the rounds; every round's req/s beside it. */
  predict1Record16: predict16,
  predict1Record16ReqPerSecRuns: throughputs(predictRuns),
  predict1Record1: predict1,
  predict1Record1ReqPerSecRuns: throughputs(predict1Runs),
  predictVsTrivialThroughput: median(ratios),
  predictVsTrivialRuns: ratios,
  // Trivial ÷ predict CPU per request: the throughput ratio the runtime would reach if CPU were all it had.
  ...(cpuRatios.length > 0
    ? {
        cpuUsPerRequest: {
          trivial: median(allTrivialRuns.map((r) => r.cpuUsPerRequest!)),
          predict: median(predictRuns.map((r) => r.cpuUsPerRequest!)),
        },
        predictVsTrivialCpu: median(cpuRatios),
        predictVsTrivialCpuRuns: cpuRatios,
      }
    : {}),
  /** The Python service, timed in the same rounds as the edge's predict (null when skipped). */
  pythonService: python
    ? {
        description: python.description,
        versions: python.versions,
        predict1Record16: medianRun(pythonRuns),
        predict1Record16ReqPerSecRuns: throughputs(pythonRuns),
        predict1Record1: medianRun(python1Runs),
        predict1Record1ReqPerSecRuns: throughputs(python1Runs),
      }
    : null,
  ...(pythonSkipped ? { pythonServiceSkipped: pythonSkipped } : {}),
};
console.log(JSON.stringify(results, null, 2));
await writeFile(resolve(import.meta.dirname, "results/edge.json"), `${JSON.stringify(results, null, 2)}\n`);
