import { existsSync, mkdirSync, readdirSync } from "node:fs";
import { resolve } from "node:path";
import { convertV4MiniflareOptions, Log, LogLevel, Miniflare } from "miniflare";

export const EDGE_BUNDLE_DIR = resolve(import.meta.dirname, "../../dist/edge");
const COMPATIBILITY_DATE = "2026-07-01";

export interface LocalEdgeOptions {
  port: number;
  host?: string;
  /** Folder for KV, Durable Object and queue state; omitted means in-memory, for tests. */
  persistDir?: string;
  issuer: string;
  audience: string;
  /** Signs the queue consumer's deliveries to the control plane. */
  ingestSecret: string;
  verbose?: boolean;
  /** Opens workerd's V8 inspector (CPU profiles of the worker) on this port. */
  inspectorPort?: number;
  /** Drops the worker's log lines instead of printing them (benchmarks, whose output is their figures). */
  quiet?: boolean;
}

export interface LocalEdge {
  url: string;
  miniflare: Miniflare;
  kv: KVNamespace;
  close(): Promise<void>;
}

/**
 * Serves the built worker bundle in workerd through Miniflare directly (no `wrangler dev` proxy), with the
 * KV namespace the control plane publishes to.
 */
export async function startLocalEdge(options: LocalEdgeOptions): Promise<LocalEdge> {
  const scriptPath = resolve(EDGE_BUNDLE_DIR, "worker.js");
  if (!existsSync(scriptPath))
    throw new Error(`Edge bundle not built: run \`npm run build:edge\` (${scriptPath})`);
  if (options.persistDir) mkdirSync(options.persistDir, { recursive: true, mode: 0o700 });
  const miniflare = new Miniflare(
    convertV4MiniflareOptions({
      name: "churn-edge",
      // Listing the modules explicitly keeps Miniflare from walking the bundle (ORT contains dynamic imports).
      modulesRoot: EDGE_BUNDLE_DIR,
      modules: [
        { type: "ESModule", path: scriptPath },
        ...readdirSync(EDGE_BUNDLE_DIR)
          .filter((f) => f.endsWith(".wasm"))
          .map((f) => ({ type: "CompiledWasm" as const, path: resolve(EDGE_BUNDLE_DIR, f) })),
        ...readdirSync(EDGE_BUNDLE_DIR)
          .filter((f) => f.endsWith(".bin"))
          .map((f) => ({ type: "Data" as const, path: resolve(EDGE_BUNDLE_DIR, f) })),
      ],
      compatibilityDate: COMPATIBILITY_DATE,
      kvNamespaces: { EDGE_KV: "churn-edge-kv" },
      queueProducers: { EVENTS: "churn-events" },
      // As wrangler.toml's migrations declare them: the quota object keeps its counts in SQLite storage.
      durableObjects: {
        RATE_LIMITER: "RateLimiter",
        PREDICTION_QUOTA: { className: "PredictionQuota", useSQLite: true },
      },
      queueConsumers: {
        "churn-events": {
          maxBatchSize: 100,
          maxBatchTimeout: 1,
          maxRetries: 100,
          retryDelay: 2,
          deadLetterQueue: "churn-events-dlq",
        },
      },
      bindings: {
        TOKEN_ISSUER: options.issuer,
        TOKEN_AUDIENCE: options.audience,
        INGEST_SECRET: options.ingestSecret,
      },
      host: options.host ?? "127.0.0.1",
      port: options.port,
      log: new Log(options.verbose ? LogLevel.INFO : LogLevel.WARN),
      cf: false,
      ...(options.inspectorPort ? { inspectorPort: options.inspectorPort } : {}),
      ...(options.quiet ? { handleStructuredLogs: () => {} } : {}),
      // KV and Durable Object storage (prediction quota counts) outlive a restart under the data directory.
      ...(options.persistDir ? { resourcePersistencePath: resolve(options.persistDir) } : {}),
    }),
  );
  const url = await miniflare.ready;
  const kv = (await miniflare.getKVNamespace("EDGE_KV")) as unknown as KVNamespace;
  return {
    url: url.origin,
    miniflare,
    kv,
    close: () => miniflare.dispose(),
  };
}
