import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { exportJWK, generateKeyPair, SignJWT } from "jose";
import { sha256Hex } from "#shared/hash.ts";
import { kvKeys } from "#shared/kv.ts";
import { buildEdge, ensureEdgeBuilt } from "../scripts/lib/edge-build.ts";
import { startLocalEdge } from "../scripts/lib/local-edge.ts";
import { SAMPLE_CUSTOMER, trainFixtureModel } from "../test/helpers/model-fixture.ts";
import { processCpuNs, workerdPid } from "./lib/process-cpu.ts";
import { type LoadResult, median, percentile, wrk } from "./lib/wrk.ts";

/**
 * `npm run bench:edge`: the built bundle served by workerd through Miniflare directly (as `npm start` does),
 * driven by wrk on loopback. Prints JSON and writes bench/results/edge.json.
 */
const seconds = Number(process.env["BENCH_SECONDS"] ?? 10);
const ISSUER = "urn:churn:control-plane";
const AUDIENCE = "urn:churn:api";

await ensureEdgeBuilt((line) => console.error(line));
const bundle = await buildEdge();
const dir = await mkdtemp(join(tmpdir(), "churn-bench-edge-"));
const fixture = await trainFixtureModel(dir, { rows: 3000, seed: 5 });
const { publicKey, privateKey } = await generateKeyPair("EdDSA", { crv: "Ed25519", extractable: true });
const kid = "key_bench";
const jwks = { keys: [{ ...(await exportJWK(publicKey)), kid, alg: "EdDSA", use: "sig" }] };
const tenantId = "tnt_bench";
const token = await new SignJWT({ tid: tenantId, scope: "predict" })
  .setProtectedHeader({ alg: "EdDSA", kid })
  .setIssuer(ISSUER)
  .setAudience(AUDIENCE)
  .setSubject("cli_bench")
  .setIssuedAt()
  .setExpirationTime("2h")
  .setJti("tok_bench")
  .sign(privateKey);

// The events queue's consumer delivers to the control plane; a sink that accepts every batch stands in for
// it, so retries of undeliverable events don't load the worker being measured.
const sink = createServer((req, res) => {
  req.resume();
  req.on("end", () => {
    res.writeHead(200, { "content-type": "application/json" });
    res.end('{"accepted":0,"duplicates":0}');
  });
});
await new Promise<void>((done) => sink.listen(0, "127.0.0.1", () => done()));
const sinkUrl = `http://127.0.0.1:${(sink.address() as AddressInfo).port}`;

async function startSeededEdge() {
  const edge = await startLocalEdge({
    port: 0,
    issuer: ISSUER,
    audience: AUDIENCE,
    ingestSecret: "bench-ingest-secret",
  });
  await edge.kv.put(kvKeys.controlPlane(), JSON.stringify({ url: sinkUrl }));
  const versionId = "mv_bench";
  await edge.kv.put(kvKeys.jwks(), JSON.stringify(jwks));
  // The default tenant limit (1,000 req/s) would answer part of a saturating run with 429: measure capacity,
  // with the limiter still on the path, rather than the limit.
  await edge.kv.put(
    kvKeys.limits(tenantId),
    JSON.stringify({ tenant: { ratePerSecond: 100_000, burst: 1_000_000 }, clients: {} }),
  );
  await edge.kv.put(kvKeys.modelBytes(versionId), fixture.bytes.slice().buffer);
  await edge.kv.put(kvKeys.modelManifest(versionId), fixture.manifestText);
  await edge.kv.put(
    kvKeys.deployment(tenantId),
    JSON.stringify({
      tenantId,
      revision: 1,
      production: { versionId, version: 1, sha256: await sha256Hex(fixture.bytes) },
      shadows: [],
      allowUnknownFields: false,
      updatedAt: new Date().toISOString(),
    }),
  );
  return edge;
}

const headers = { authorization: `Bearer ${token}`, "content-type": "application/json" };
const oneRecord = JSON.stringify({ records: [{ customerId: "c1", ...SAMPLE_CUSTOMER }] });
const batch = JSON.stringify({
  explain: true,
  records: Array.from({ length: 1000 }, (_, i) => ({
    ...SAMPLE_CUSTOMER,
    tenure: i % 72,
    customerId: `c${i}`,
  })),
});

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

// Alternate the trivial route and predict three times and compare in-run ratios: the machine is noisy.
// workerd's CPU time per request (all its threads: the worker, and Miniflare's KV, queue and Durable
// Objects) is read from /proc around each run; it moves much less than req/s when the box is shared.
const pid = workerdPid();
type MeasuredRun = LoadResult & { cpuUsPerRequest?: number };
async function measured(options: Parameters<typeof wrk>[0]): Promise<MeasuredRun> {
  const before = pid === undefined ? undefined : processCpuNs(pid);
  const run = await wrk(options);
  if (pid === undefined || before === undefined) return run;
  return { ...run, cpuUsPerRequest: (processCpuNs(pid) - before) / 1e3 / run.requests };
}
const trivialRuns: MeasuredRun[] = [];
const predictRuns: MeasuredRun[] = [];
for (let i = 0; i < 3; i++) {
  trivialRuns.push(await measured({ url: `${edge.url}/v1/health`, connections: 16, seconds }));
  predictRuns.push(
    await measured({ url: predictUrl, connections: 16, seconds, method: "POST", headers, body: oneRecord }),
  );
}
const cpuRatios = predictRuns.flatMap((p, i) => {
  const t = trivialRuns[i]!.cpuUsPerRequest;
  return p.cpuUsPerRequest && t ? [t / p.cpuUsPerRequest] : [];
});
const medianRun = (runs: LoadResult[]) =>
  [...runs].sort((x, y) => x.requestsPerSec - y.requestsPerSec)[Math.floor(runs.length / 2)]!;
const trivial = medianRun(trivialRuns);
const predict16 = medianRun(predictRuns);
const ratios = predictRuns.map((p, i) => p.requestsPerSec / trivialRuns[i]!.requestsPerSec);
const predict1 = await wrk({
  url: predictUrl,
  connections: 1,
  threads: 1,
  seconds,
  method: "POST",
  headers,
  body: oneRecord,
});
await edge.close();
sink.close();
await rm(dir, { recursive: true, force: true });

const results = {
  measuredAt: new Date().toISOString(),
  secondsPerRun: seconds,
  bundle,
  coldStartFirstPredictMs: { median: median(coldRuns), runs: coldRuns },
  batch1000ExplainMs: { median: median(batchRuns), p99: percentile(batchRuns, 99) },
  trivialRoute16: trivial,
  predict1Record16: predict16,
  predict1Record1: predict1,
  predictVsTrivialThroughput: median(ratios),
  predictVsTrivialRuns: ratios,
  // Trivial ÷ predict CPU per request: the throughput ratio the runtime would reach if CPU were all it had.
  ...(cpuRatios.length > 0
    ? {
        cpuUsPerRequest: {
          trivial: median(trivialRuns.map((r) => r.cpuUsPerRequest!)),
          predict: median(predictRuns.map((r) => r.cpuUsPerRequest!)),
        },
        predictVsTrivialCpu: median(cpuRatios),
        predictVsTrivialCpuRuns: cpuRatios,
      }
    : {}),
  python: { reqPerSec16: 93, p99Ms16: 266, reqPerSec1: 112, p50Ms1: 8.9 },
};
console.log(JSON.stringify(results, null, 2));
await writeFile(resolve(import.meta.dirname, "results/edge.json"), `${JSON.stringify(results, null, 2)}\n`);
