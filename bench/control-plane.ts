import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { cpus, loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { convertV4MiniflareOptions, Miniflare } from "miniflare";
import { sha256Hex } from "#shared/hash.ts";
import type { Manifest } from "#shared/manifest.ts";
import { createControlPlane, listen } from "../control-plane/src/control-plane.ts";
import { createApiClient } from "../control-plane/src/modules/identity/api-clients.ts";
import { createTenant } from "../control-plane/src/modules/identity/tenants.ts";
import { loadConfig } from "../control-plane/src/platform/config.ts";
import { type KvLike, kvEdgeStore } from "../control-plane/src/platform/edge-store/edge-store.ts";
import { IR_VERSION, OPSET } from "../trainer/src/ml/onnx/graph.ts";
import { DataType, encodeModel } from "../trainer/src/ml/onnx/model.ts";
import { median, percentile, wrk } from "./lib/wrk.ts";

/**
 * `node bench/control-plane.ts`: a real control plane (libSQL file in a temp dir, workerd KV through
 * Miniflare) on loopback. wrk drives token issuance and registry reads for BENCH_SECONDS each (default 10);
 * then 30 distinct ~1 MB models are published and each deployed, timed separately. Prints JSON and writes
 * bench/results/control-plane.json.
 */
const seconds = Number(process.env["BENCH_SECONDS"] ?? 10);
const PUBLISHES = 30;
const MODEL_BYTES = 1024 * 1024;
const TARGETS = { tokensPerSec: 1000, readsPerSec: 1000, publishMedianMs: 100 };

/**
 * A real one-feature logistic model (probability = sigmoid(w·tenure + b)) written with the trainer's ONNX
 * writer, padded to ~1 MB by an initializer of `seed`-dependent floats, so every upload has distinct bytes.
 */
function paddedModel(seed: number): Uint8Array {
  const padding = new Float32Array((MODEL_BYTES - 512) / 4);
  for (let i = 0; i < padding.length; i++) padding[i] = ((i * 2654435761 + seed * 40503) % 1000) / 1000;
  return encodeModel({
    irVersion: IR_VERSION,
    opsetImports: [{ domain: "", version: OPSET }],
    producerName: "churn-bench",
    producerVersion: "1",
    graph: {
      name: "padded_logistic",
      inputs: [{ name: "tenure", elemType: DataType.FLOAT, shape: ["N", 1] }],
      outputs: [{ name: "probability", elemType: DataType.FLOAT, shape: ["N", 1] }],
      valueInfo: [],
      initializers: [
        { name: "w", dataType: DataType.FLOAT, dims: [1, 1], values: [-0.05] },
        { name: "b", dataType: DataType.FLOAT, dims: [1], values: [0.4] },
        { name: "zero", dataType: DataType.FLOAT, dims: [1], values: [0] },
        { name: "padding", dataType: DataType.FLOAT, dims: [padding.length], values: padding },
      ],
      // The padding feeds the graph (times zero), so onnxruntime loads it rather than pruning it.
      nodes: [
        { opType: "MatMul", inputs: ["tenure", "w"], outputs: ["wx"] },
        { opType: "ReduceSum", inputs: ["padding"], outputs: ["padsum"] },
        { opType: "Mul", inputs: ["padsum", "zero"], outputs: ["nothing"] },
        { opType: "Add", inputs: ["b", "nothing"], outputs: ["bias"] },
        { opType: "Add", inputs: ["wx", "bias"], outputs: ["margin"] },
        { opType: "Sigmoid", inputs: ["margin"], outputs: ["probability"] },
      ],
    },
  });
}

async function manifestFor(bytes: Uint8Array): Promise<Manifest> {
  return {
    schemaVersion: 1,
    name: "churn",
    family: "logistic_regression",
    createdAt: new Date().toISOString(),
    target: { column: "Churn", positive: "Yes" },
    features: [{ name: "tenure", type: "numeric", required: true }],
    outputs: { probability: { name: "probability" } },
    threshold: 0.5,
    riskBands: { medium: 0.3, high: 0.6 },
    onnx: { sha256: await sha256Hex(bytes), bytes: bytes.byteLength, irVersion: IR_VERSION, opset: OPSET },
    metrics: { holdout: { auc: 0.8 } },
    lineage: { dataFingerprint: "bench", trainerVersion: "bench", params: {}, seed: 1 },
  };
}

const dir = await mkdtemp(join(tmpdir(), "churn-bench-cp-"));
const mf = new Miniflare(
  convertV4MiniflareOptions({
    modules: true,
    script: "export default { fetch() { return new Response('') } }",
    kvNamespaces: ["EDGE_KV"],
    compatibilityDate: "2026-07-01",
    cf: false,
  }),
);
try {
  const kv = (await mf.getKVNamespace("EDGE_KV")) as unknown as KvLike;
  const config = loadConfig({ DATABASE_URL: `file:${join(dir, "cp.db")}`, LOG_LEVEL: "silent" });
  const cp = await createControlPlane(config, kvEdgeStore(kv));
  const server = await listen(cp.app, "127.0.0.1", 0);
  const tenant = await createTenant(cp.database.db, {
    name: "Bench",
    ownerEmail: "owner@bench.test",
    ownerName: "Owner",
  });
  const client = await createApiClient(
    cp.database.db,
    { actor: { type: "system", id: "bench" }, requestId: null, ip: null, userAgent: null },
    {
      tenantId: tenant.tenantId,
      name: "bench",
      scopes: ["models:read", "models:publish", "deployments:write"],
    },
  );
  const basic = `Basic ${Buffer.from(`${client.client.id}:${client.clientSecret}`).toString("base64")}`;
  const tokenBody = "grant_type=client_credentials";
  const tokenRes = await fetch(`${server.url}/v1/oauth/token`, {
    method: "POST",
    headers: { authorization: basic, "content-type": "application/x-www-form-urlencoded" },
    body: tokenBody,
  });
  const { access_token: accessToken } = (await tokenRes.json()) as { access_token: string };
  const bearer = { authorization: `Bearer ${accessToken}` };

  // Publish and deploy distinct ~1 MB models, one at a time, each step timed end to end over HTTP. The first
  // pair also pays onnxruntime's start-up in the validator and is reported apart from the 30 timed ones.
  const publishMs: number[] = [];
  const deployMs: number[] = [];
  let modelBytes = 0;
  let cold = { publishMs: 0, deployMs: 0 };
  for (let i = -1; i < PUBLISHES; i++) {
    const bytes = paddedModel(i);
    modelBytes = bytes.byteLength;
    const form = new FormData();
    form.set("manifest", JSON.stringify(await manifestFor(bytes)));
    form.set("model", new Blob([bytes as BlobPart]), "model.onnx");
    let started = performance.now();
    const published = await fetch(`${server.url}/v1/models/churn/versions`, {
      method: "POST",
      headers: bearer,
      body: form,
    });
    const body = (await published.json()) as { version: { id: string } };
    const publishTook = performance.now() - started;
    if (published.status !== 201)
      throw new Error(`publish ${i}: HTTP ${published.status} ${JSON.stringify(body)}`);
    started = performance.now();
    const deployed = await fetch(`${server.url}/v1/deployment`, {
      method: "PUT",
      headers: { ...bearer, "content-type": "application/json" },
      body: JSON.stringify({ production: body.version.id, reason: `bench ${i}` }),
    });
    await deployed.arrayBuffer();
    const deployTook = performance.now() - started;
    if (deployed.status !== 200) throw new Error(`deploy ${i}: HTTP ${deployed.status}`);
    if (i < 0) {
      cold = { publishMs: publishTook, deployMs: deployTook };
    } else {
      publishMs.push(publishTook);
      deployMs.push(deployTook);
    }
  }
  const summary = (values: number[]) => ({
    median: median(values),
    p99: percentile(values, 99),
    min: Math.min(...values),
    max: Math.max(...values),
  });

  // One wrk thread leaves the other core to the control plane's single event loop.
  const load = { connections: 16, threads: 1, seconds };
  const tokens = await wrk({
    ...load,
    url: `${server.url}/v1/oauth/token`,
    method: "POST",
    headers: { authorization: basic, "content-type": "application/x-www-form-urlencoded" },
    body: tokenBody,
  });
  const versionsRead = await wrk({ ...load, url: `${server.url}/v1/models/churn/versions`, headers: bearer });
  const deploymentRead = await wrk({ ...load, url: `${server.url}/v1/deployment`, headers: bearer });
  await server.close();
  cp.close();

  const results = {
    measuredAt: new Date().toISOString(),
    secondsPerRun: seconds,
    machine: { cpus: cpus().length, node: process.version },
    tokenIssuance: tokens,
    listVersions: { ...versionsRead, versionsListed: PUBLISHES + 1 },
    getDeployment: deploymentRead,
    publish1MB: { modelBytes, runs: PUBLISHES, ms: summary(publishMs), firstPublishColdMs: cold.publishMs },
    deploy1MB: {
      note: "PUT /v1/deployment: bytes, manifest and pointer to KV",
      runs: PUBLISHES,
      ms: summary(deployMs),
      firstDeployColdMs: cold.deployMs,
    },
    loadAverageAtEnd: loadavg(),
    targets: TARGETS,
    meetsTargets: {
      tokens: tokens.requestsPerSec >= TARGETS.tokensPerSec && tokens.httpErrors === 0,
      reads:
        Math.min(versionsRead.requestsPerSec, deploymentRead.requestsPerSec) >= TARGETS.readsPerSec &&
        versionsRead.httpErrors + deploymentRead.httpErrors === 0,
      publish: median(publishMs) < TARGETS.publishMedianMs,
    },
  };
  console.log(JSON.stringify(results, null, 2));
  const out = resolve(import.meta.dirname, "results");
  await mkdir(out, { recursive: true });
  await writeFile(join(out, "control-plane.json"), `${JSON.stringify(results, null, 2)}\n`);
} finally {
  await mf.dispose();
  await rm(dir, { recursive: true, force: true });
}
