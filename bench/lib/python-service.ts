import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { createServer } from "node:net";
import path from "node:path";
import { pythonWith } from "./debian.ts";

/**
 * The Python churn service bench/edge.ts times beside the edge, on this machine in the same sitting:
 * bench/python/service.py (FastAPI + uvicorn, one worker, pydantic, an API-key header) serving a
 * scikit-learn one-hot + XGBoost 1.7 hist pipeline that bench/python/train_pipeline.py fits on Telco's
 * training rows and saves with joblib before anything is timed.
 */
const repoRoot = path.resolve(import.meta.dirname, "../..");
const telcoCsv = path.resolve(repoRoot, "../shared/data/telco/WA_Fn-UseC_-Telco-Customer-Churn.csv");
const MODULES = ["fastapi", "uvicorn", "pydantic", "xgboost", "sklearn", "pandas", "joblib"];
const PACKAGES = [
  "python3-fastapi",
  "python3-uvicorn",
  "python3-xgboost",
  "python3-sklearn",
  "python3-pandas",
];
/** XGBoost's usual 100 trees of depth 6, in `churn train --params` names (train_pipeline.py maps them). */
export const SERVICE_MODEL_SHAPE = {
  rounds: 100,
  maxDepth: 6,
  learningRate: 0.1,
  growth: "depthwise",
  maxBins: 255,
  lambda: 1,
  gamma: 0,
  minChildWeight: 1,
  subsample: 1,
  colsampleByTree: 1,
} as const;

export interface PythonService {
  url: string;
  pid: number;
  /** The headers a genuine client sends: the API key and the JSON content type. */
  headers: Record<string, string>;
  description: string;
  versions: Record<string, string>;
  /** Ends the service by its PID (SIGTERM, then SIGKILL after 5 s); safe to call twice. */
  stop(): Promise<void>;
}

/** Why the Python side cannot run here, or undefined when it can. */
export function pythonServiceUnavailable(): string | undefined {
  return existsSync(telcoCsv) ? undefined : "the Telco export is not beside the repository (../shared/data)";
}

/**
 * Trains and saves the pipeline into `workDir`, starts the service on a free loopback port, waits until
 * it answers, and checks that `body` gets a probability back and that a request without the key is
 * refused, so the figures are of a service doing the real work.
 */
export async function startPythonService(workDir: string, body: string): Promise<PythonService> {
  const python = pythonWith(MODULES, PACKAGES);
  const modelPath = path.join(workDir, "service-pipeline.joblib");
  const fitted = JSON.parse(
    run(python, [
      path.join(repoRoot, "bench/python/train_pipeline.py"),
      ...["--data", telcoCsv, "--split", path.join(path.dirname(telcoCsv), "split.json")],
      ...["--target", "Churn", "--positive", "Yes", "--id", "customerID"],
      ...["--params", JSON.stringify(SERVICE_MODEL_SHAPE), "--out", modelPath],
    ]),
  ) as { trees: number };
  if (fitted.trees !== SERVICE_MODEL_SHAPE.rounds) throw new Error(`XGBoost fitted ${fitted.trees} trees`);
  const versions = pythonVersions(python);

  const port = await freeLoopbackPort();
  const apiKey = randomBytes(24).toString("hex");
  const child = spawn(
    python,
    [path.join(repoRoot, "bench/python/service.py"), "--model", modelPath, "--port", String(port)],
    { env: { ...process.env, SERVICE_API_KEY: apiKey }, stdio: ["ignore", "ignore", "pipe"] },
  );
  // The last of its stderr, to say why it failed to start.
  let stderr = "";
  child.stderr!.on("data", (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  const stop = () => stopChild(child);
  try {
    const url = `http://127.0.0.1:${port}`;
    await waitUntilAnswering(`${url}/health`, child, () => stderr);
    const headers = { "x-api-key": apiKey, "content-type": "application/json" };
    await checkPredicts(`${url}/v1/predict`, headers, body);
    return {
      url,
      pid: child.pid!,
      headers,
      description: `FastAPI ${versions["fastapi"]} + uvicorn ${versions["uvicorn"]} (1 worker), pydantic ${versions["pydantic"]} request model, API-key header; scikit-learn ${versions["sklearn"]} ColumnTransformer one-hot + numeric passthrough → XGBoost ${versions["xgboost"]} hist, ${fitted.trees} trees of depth ${SERVICE_MODEL_SHAPE.maxDepth}, fit on Telco's training rows`,
      versions,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

async function waitUntilAnswering(url: string, child: ChildProcess, stderr: () => string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null)
      throw new Error(`the Python service exited (${child.exitCode}):\n${stderr()}`);
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // Not listening yet.
    }
    await new Promise((done) => setTimeout(done, 100));
  }
  throw new Error(`the Python service did not answer within 60 s:\n${stderr()}`);
}

async function checkPredicts(url: string, headers: Record<string, string>, body: string): Promise<void> {
  const res = await fetch(url, { method: "POST", headers, body });
  const answer = (await res.json()) as { predictions?: { probability?: unknown }[] };
  const probability = answer.predictions?.[0]?.probability;
  if (!res.ok || typeof probability !== "number" || !(probability >= 0 && probability <= 1)) {
    throw new Error(
      `the Python service answered ${res.status} without a probability: ${JSON.stringify(answer)}`,
    );
  }
  const { "x-api-key": _key, ...withoutKey } = headers;
  const refused = await fetch(url, { method: "POST", headers: withoutKey, body });
  await refused.arrayBuffer();
  if (refused.status !== 401)
    throw new Error(`the Python service answered ${refused.status} without its key`);
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((done) => child.once("exit", () => done()));
  process.kill(child.pid!, "SIGTERM");
  const timer = setTimeout(() => {
    if (child.exitCode === null && child.signalCode === null) process.kill(child.pid!, "SIGKILL");
  }, 5000);
  await exited;
  clearTimeout(timer);
}

/** A port the kernel just handed out and released: free unless something else grabs it first. */
async function freeLoopbackPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", () => done()));
  const { port } = server.address() as { port: number };
  await new Promise<void>((done) => server.close(() => done()));
  return port;
}

function pythonVersions(python: string): Record<string, string> {
  const script = `import sys, ${MODULES.join(", ")}; print(sys.version.split()[0], ${MODULES.map((m) => (m === "pydantic" ? "pydantic.VERSION" : `${m}.__version__`)).join(", ")})`;
  const [version, ...modules] = run(python, ["-c", script]).trim().split(" ");
  return { python: version!, ...Object.fromEntries(MODULES.map((m, i) => [m, modules[i]!])) };
}

function run(file: string, args: readonly string[]): string {
  const result = spawnSync(file, args, { cwd: repoRoot, encoding: "utf8", maxBuffer: 16 * 1024 * 1024 });
  if (result.status !== 0) {
    throw new Error(`${[file, ...args].join(" ")} failed (exit ${result.status}):\n${result.stderr}`);
  }
  return result.stdout;
}
