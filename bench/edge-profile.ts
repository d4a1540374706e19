import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { SourceMapConsumer } from "source-map-js";
import { buildEdge, ensureEdgeBuilt } from "../scripts/lib/edge-build.ts";
import { EDGE_BUNDLE_DIR } from "../scripts/lib/local-edge.ts";
import { prepareEdgeBench } from "./lib/seeded-edge.ts";
import { wrk } from "./lib/wrk.ts";

/**
 * `npm run bench:edge-profile`: where a one-record predict's time goes inside the worker. The built bundle
 * runs in workerd with V8's inspector open; after 15 s of untimed load on each route, while wrk drives 16
 * connections at /v1/predict and then at the trivial route (/v1/health), the inspector's sampling profiler
 * records the worker's isolate. Samples are mapped through the bundle's source map to the original
 * functions and files and printed as µs per request, predict beside trivial. Time inside the runtime's own APIs (the body read, Response, crypto) shows under
 * the native function's name; what the profiler cannot see is Miniflare's KV, queue and Durable Object
 * services, which `npm run bench:edge` counts in its CPU figures. The raw profiles are written beside the
 * results (bench/results/edge-*.cpuprofile, for Chrome DevTools) and are not committed.
 */
const seconds = Number(process.env["BENCH_SECONDS"] ?? 8);
const SAMPLING_INTERVAL_US = 100;
const WARM_SECONDS = 15;

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}
interface CpuProfile {
  nodes: { id: number; callFrame: CallFrame; children?: number[] }[];
  samples: number[];
  timeDeltas: number[];
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", () => done()));
  const { port } = server.address() as { port: number };
  await new Promise((done) => server.close(done));
  return port;
}

/** A Chrome DevTools Protocol session on the worker's isolate. */
async function inspect(port: number) {
  const targets = (await (await fetch(`http://127.0.0.1:${port}/json`)).json()) as {
    id: string;
    webSocketDebuggerUrl: string;
  }[];
  const target = targets.find((t) => t.id.endsWith(":churn-edge"));
  if (!target) throw new Error(`no churn-edge target among ${targets.map((t) => t.id).join(", ")}`);
  const socket = new WebSocket(target.webSocketDebuggerUrl);
  await new Promise((done, fail) => {
    socket.addEventListener("open", done);
    socket.addEventListener("error", fail);
  });
  const pending = new Map<number, (result: unknown) => void>();
  socket.addEventListener("message", (event) => {
    const message = JSON.parse(String(event.data)) as { id?: number; result?: unknown };
    if (message.id !== undefined) pending.get(message.id)?.(message.result);
    pending.delete(message.id ?? -1);
  });
  let nextId = 0;
  return {
    call<T>(method: string, params: object = {}): Promise<T> {
      const id = ++nextId;
      return new Promise<T>((done) => {
        pending.set(id, done as (result: unknown) => void);
        socket.send(JSON.stringify({ id, method, params }));
      });
    },
    close: () => socket.close(),
  };
}

/** Self time per original function and per original file, in µs per request. */
function attribute(profile: CpuProfile, requests: number, map: SourceMapConsumer) {
  const byNode = new Map(profile.nodes.map((node) => [node.id, node]));
  const names = new Map<number, { fn: string; file: string }>();
  const where = (frame: CallFrame) => {
    if (!frame.url.endsWith("worker.js")) {
      if (frame.url.startsWith("wasm://"))
        return { fn: "onnxruntime (WebAssembly)", file: "onnxruntime (WebAssembly)" };
      const name = `(runtime) ${frame.functionName || "(other)"}`;
      return { fn: frame.url ? `${name} ${frame.url}` : name, file: frame.url || "(runtime, GC and idle)" };
    }
    const at = map.originalPositionFor({ line: frame.lineNumber + 1, column: frame.columnNumber });
    const file = (at.source ?? "?").replace(/^.*node_modules\//, "").replace(/^(\.\.\/)+/, "");
    return { fn: `${at.name ?? frame.functionName ?? "(anonymous)"} ${file}:${at.line}`, file };
  };
  const fns = new Map<string, number>();
  const files = new Map<string, number>();
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i]!;
    let name = names.get(id);
    if (!name) {
      name = where(byNode.get(id)!.callFrame);
      names.set(id, name);
    }
    const us = (profile.timeDeltas[i] ?? 0) / requests;
    fns.set(name.fn, (fns.get(name.fn) ?? 0) + us);
    files.set(name.file, (files.get(name.file) ?? 0) + us);
  }
  return { fns, files };
}

/** Coarse areas of the request, by source file; the first pattern that matches names it. */
const AREAS: [string, RegExp][] = [
  ["idle", /^\(runtime\) \(idle\)$/],
  ["onnxruntime (WebAssembly and its JavaScript)", /onnxruntime|wasm-to-js|js-to-wasm/],
  ["request body read (the runtime's text())", /^\(runtime\) text$/],
  ["token: signature hash, verified-token cache, jose", /middleware\/auth\.ts|sha256-sync|jose\//],
  [
    "events: building, sketching, batching",
    /edge\/src\/events\/|edge\/src\/monitoring\/|shared\/src\/monitoring/,
  ],
  ["rate limits, quota meter, KV caches", /rate-limit|edge\/src\/quota\/|kv-cache/],
  ["Hono, zod, body checks", /hono\/|zod\/|content-type|validator/],
  ["encoding, scoring, response body", /edge\/src\/models\/|edge\/src\/routes\/|shared\/src\/ids/],
  ["the request's log line", /request-context|internal_inspect/],
  ["the runtime's own work (requests, responses, I/O, promises, GC)", /^\(runtime\)/],
];

function areas(fns: Map<string, number>): Map<string, number> {
  const out = new Map<string, number>();
  for (const [fn, us] of fns) {
    const area = AREAS.find(([, pattern]) => pattern.test(fn))?.[0] ?? "other";
    out.set(area, (out.get(area) ?? 0) + us);
  }
  return out;
}

function table(title: string, predict: Map<string, number>, trivial: Map<string, number>, rows: number) {
  console.log(`\n${title} (µs per request: predict, trivial)`);
  const keys = [...new Set([...predict.keys(), ...trivial.keys()])]
    .sort((a, b) => (predict.get(b) ?? 0) - (predict.get(a) ?? 0))
    .slice(0, rows);
  for (const key of keys) {
    const p = (predict.get(key) ?? 0).toFixed(1).padStart(7);
    const t = (trivial.get(key) ?? 0).toFixed(1).padStart(7);
    console.log(`${p} ${t}  ${key}`);
  }
}

await ensureEdgeBuilt((line) => console.error(line));
await buildEdge();
const map = new SourceMapConsumer(
  JSON.parse(await readFile(resolve(EDGE_BUNDLE_DIR, "worker.js.map"), "utf8")),
);
const dir = await mkdtemp(join(tmpdir(), "churn-bench-edge-profile-"));
const setup = await prepareEdgeBench(dir);
const inspectorPort = await freePort();
const edge = await setup.startSeededEdge({ inspectorPort });
const inspector = await inspect(inspectorPort);
try {
  const predict = { method: "POST", headers: setup.headers, body: setup.oneRecord };
  for (let i = 0; i < 500; i++) {
    const res = await fetch(`${edge.url}/v1/predict`, predict);
    await res.arrayBuffer();
    if (!res.ok) throw new Error(`warm-up predict: HTTP ${res.status}`);
  }
  // workerd's JIT keeps warming up for ~15 s of load (docs/edge.md): profile both routes in steady state.
  await wrk({ url: `${edge.url}/v1/predict`, ...predict, connections: 16, seconds: WARM_SECONDS });
  await wrk({ url: `${edge.url}/v1/health`, connections: 16, seconds: WARM_SECONDS / 3 });
  await inspector.call("Profiler.enable");
  await inspector.call("Profiler.setSamplingInterval", { interval: SAMPLING_INTERVAL_US });
  const profiles: Record<string, { profile: CpuProfile; requests: number }> = {};
  for (const [route, options] of [
    ["predict", { url: `${edge.url}/v1/predict`, ...predict }],
    ["trivial", { url: `${edge.url}/v1/health` }],
  ] as const) {
    await inspector.call("Profiler.start");
    const run = await wrk({ ...options, connections: 16, seconds });
    const { profile } = await inspector.call<{ profile: CpuProfile }>("Profiler.stop");
    if (run.httpErrors > 0) throw new Error(`${route}: ${run.httpErrors} HTTP errors`);
    profiles[route] = { profile, requests: run.requests };
    await writeFile(
      resolve(import.meta.dirname, `results/edge-${route}.cpuprofile`),
      JSON.stringify(profile),
    );
  }
  const predictTime = attribute(profiles["predict"]!.profile, profiles["predict"]!.requests, map);
  const trivialTime = attribute(profiles["trivial"]!.profile, profiles["trivial"]!.requests, map);
  const total = (m: Map<string, number>) => [...m.values()].reduce((a, b) => a + b, 0);
  console.log(
    `requests profiled: predict ${profiles["predict"]!.requests}, trivial ${profiles["trivial"]!.requests} ` +
      `(${seconds} s each, 16 connections); wall time per request in the worker's thread: ` +
      `predict ${total(predictTime.fns).toFixed(0)} µs, trivial ${total(trivialTime.fns).toFixed(0)} µs`,
  );
  table("By area", areas(predictTime.fns), areas(trivialTime.fns), AREAS.length + 1);
  table("By source file", predictTime.files, trivialTime.files, 30);
  table("By function", predictTime.fns, trivialTime.fns, 45);
} finally {
  inspector.close();
  await edge.close();
  setup.close();
  await rm(dir, { recursive: true, force: true });
}
