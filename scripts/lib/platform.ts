import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { chmod, mkdir, readFile, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import type { OpenAPIHono } from "@hono/zod-openapi";
import { eq } from "drizzle-orm";
import {
  createControlPlane,
  listen,
  publishControlPlaneLocation,
  type RunningServer,
} from "../../control-plane/src/control-plane.ts";
import { createApiClient } from "../../control-plane/src/modules/identity/api-clients.ts";
import { createTenant } from "../../control-plane/src/modules/identity/tenants.ts";
import { loadConfig } from "../../control-plane/src/platform/config.ts";
import { deployments, tenants } from "../../control-plane/src/platform/db/schema/index.ts";
import { kvEdgeStore } from "../../control-plane/src/platform/edge-store/edge-store.ts";
import type { Deps, HonoEnv, Logger } from "../../control-plane/src/platform/env.ts";
import { toCsv } from "../../trainer/src/data/csv-writer.ts";
import { generateTelco, TELCO_COLUMNS } from "../../trainer/src/data/synthetic.ts";
import { trainToDirectory } from "../../trainer/src/pipeline/train.ts";
import { deployProduction, publishModelDir } from "../../trainer/src/remote/control-plane-client.ts";
import { type LocalEdge, startLocalEdge } from "./local-edge.ts";

export interface LocalState {
  controlPlaneUrl: string;
  edgeUrl: string;
  tenantId: string;
  clientId: string;
  clientSecret: string;
  /** The demo owner's personal access token: lets `churn publish` and the console work locally. */
  ownerToken: string;
  /** Shared by the local edge and control plane to sign event deliveries. */
  ingestSecret: string;
  /** Lets `churn keys rotate` rotate the local signing key. */
  operatorToken: string;
  /** Prometheus's bearer token for /metrics, also written to `metrics-token` for ops/prometheus. */
  metricsToken: string;
}

export interface PlatformOptions {
  dataDir: string;
  controlPlanePort: number;
  edgePort: number;
  host?: string;
  log?: Logger;
  /** Progress lines for a person watching start-up. */
  progress?: (line: string) => void;
  /** Rows of synthetic customers for the first model. */
  demoRows?: number;
  /** AutoML budget for the first model, in seconds. */
  demoTimeBudget?: number;
  /** The https address a TLS-terminating proxy serves the control plane at (PUBLIC_URL). */
  publicUrl?: string;
}

export interface Platform {
  state: LocalState;
  edge: LocalEdge;
  controlPlane: RunningServer;
  /** The control plane's dependencies, for tools and tests that administer tenants directly. */
  deps: Deps;
  /** The control-plane app, so a test can take its listener down and bring it back. */
  app: OpenAPIHono<HonoEnv>;
  /** What start-up did, for the summary: whether the demo was created and a model trained. */
  created: { tenant: boolean; model: boolean };
  stop(): Promise<void>;
}

const ISSUER = "urn:churn:control-plane";
const AUDIENCE = "urn:churn:api";

/**
 * Brings up the whole platform on embedded defaults: the edge in workerd with persisted KV, the control
 * plane on a libSQL file, a demo tenant with an API client, and a first model trained and deployed.
 */
export async function startPlatform(options: PlatformOptions): Promise<Platform> {
  const progress = options.progress ?? (() => {});
  const dataDir = resolve(options.dataDir);
  // The platform's own directory: the database, its backups, local.json's secrets and the edge's KV.
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  await chmod(dataDir, 0o700);
  const host = options.host ?? "127.0.0.1";

  const statePath = join(dataDir, "local.json");
  const previous = existsSync(statePath)
    ? (JSON.parse(await readFile(statePath, "utf8")) as Partial<LocalState>)
    : undefined;
  const ingestSecret = previous?.ingestSecret ?? randomBytes(32).toString("base64url");
  const operatorToken = previous?.operatorToken ?? randomBytes(32).toString("base64url");
  const metricsToken = previous?.metricsToken ?? randomBytes(32).toString("base64url");
  const edge = await startLocalEdge({
    port: options.edgePort,
    host,
    persistDir: join(dataDir, "edge"),
    issuer: ISSUER,
    audience: AUDIENCE,
    ingestSecret,
  });
  progress(`edge (workerd) on ${edge.url}`);
  let controlPlane: RunningServer | undefined;
  let closeDb: () => Promise<void> = async () => {};
  try {
    const config = loadConfig({
      ...process.env,
      DATABASE_URL: process.env["DATABASE_URL"] ?? `file:${join(dataDir, "control-plane.db")}`,
      TOKEN_ISSUER: ISSUER,
      TOKEN_AUDIENCE: AUDIENCE,
      INGEST_SECRET: ingestSecret,
      OPERATOR_TOKEN: operatorToken,
      METRICS_TOKEN: metricsToken,
      // Local receivers (a webhook on localhost) are the point of the local platform.
      WEBHOOK_ALLOW_PRIVATE_NETWORKS: process.env["WEBHOOK_ALLOW_PRIVATE_NETWORKS"] ?? "true",
      // Likewise an identity provider run beside it to try single sign-on.
      SSO_ALLOW_PRIVATE_NETWORKS: process.env["SSO_ALLOW_PRIVATE_NETWORKS"] ?? "true",
      ...(options.publicUrl ? { PUBLIC_URL: options.publicUrl } : {}),
    });
    const cp = await createControlPlane(config, kvEdgeStore(edge.kv), options.log);
    closeDb = cp.close;
    controlPlane = await listen(cp.app, host, options.controlPlanePort);
    await publishControlPlaneLocation(cp.deps.edge, controlPlane.url);
    progress(`control plane on ${controlPlane.url}`);

    const known = previous?.tenantId
      ? (await cp.deps.db.select().from(tenants).where(eq(tenants.id, previous.tenantId)).limit(1))[0]
      : undefined;
    let state: LocalState;
    let createdTenant = false;
    if (known && previous?.clientId && previous.clientSecret && previous.ownerToken) {
      state = {
        ...(previous as LocalState),
        controlPlaneUrl: controlPlane.url,
        edgeUrl: edge.url,
        ingestSecret,
        operatorToken,
        metricsToken,
      };
    } else {
      const tenant = await createTenant(cp.deps.db, {
        name: "Demo Telco",
        ownerEmail: "owner@demo.local",
        ownerName: "Demo Owner",
      });
      const client = await createApiClient(
        cp.deps.db,
        { actor: { type: "user", id: tenant.ownerId }, requestId: null, ip: null, userAgent: null },
        { tenantId: tenant.tenantId, name: "demo-predict", scopes: ["predict", "feedback:write"] },
      );
      state = {
        controlPlaneUrl: controlPlane.url,
        edgeUrl: edge.url,
        tenantId: tenant.tenantId,
        clientId: client.client.id,
        clientSecret: client.clientSecret,
        ownerToken: tenant.ownerToken,
        ingestSecret,
        operatorToken,
        metricsToken,
      };
      createdTenant = true;
      progress(`created demo tenant ${state.tenantId}`);
    }
    await writeFile(statePath, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
    // ops/prometheus/prometheus.yml reads the scrape token from here (credentials_file).
    await writeFile(join(dataDir, "metrics-token"), metricsToken, { mode: 0o600 });

    const [deployed] = await cp.deps.db
      .select({ revision: deployments.revision })
      .from(deployments)
      .where(eq(deployments.tenantId, state.tenantId))
      .limit(1);
    let trainedModel = false;
    if (!deployed) {
      await trainDemoModel(state, dataDir, options.demoRows ?? 5000, options.demoTimeBudget ?? 10, progress);
      trainedModel = true;
    }
    const platform: Platform = {
      state,
      edge,
      controlPlane,
      deps: cp.deps,
      app: cp.app,
      created: { tenant: createdTenant, model: trainedModel },
      async stop() {
        await platform.controlPlane.close(); // the listener a test may have replaced
        await closeDb();
        await edge.close();
      },
    };
    return platform;
  } catch (err) {
    await controlPlane?.close();
    await closeDb();
    await edge.close();
    throw err;
  }
}

/** Synthetic Telco-schema customers → trainer → publish and deploy through the control-plane API. */
async function trainDemoModel(
  state: LocalState,
  dataDir: string,
  rows: number,
  timeBudget: number,
  progress: (line: string) => void,
): Promise<void> {
  const demoDir = join(dataDir, "demo");
  await mkdir(demoDir, { recursive: true });
  const csvPath = join(demoDir, "customers.csv");
  await writeFile(csvPath, toCsv(generateTelco(rows, 42), TELCO_COLUMNS));
  progress(`generated ${rows} synthetic customers (${csvPath})`);
  const result = await trainToDirectory({
    data: csvPath,
    target: "Churn",
    positive: "Yes",
    out: join(demoDir, "model"),
    seed: 42,
    timeBudget,
  });
  progress(
    `trained ${result.manifest.family} in ${Math.round(result.seconds)}s: holdout ROC-AUC ${result.metrics.roc_auc.toFixed(3)}, parity ${result.parity.maxDiff.toExponential(1)}`,
  );
  const target = { url: state.controlPlaneUrl, token: state.ownerToken };
  const published = await publishModelDir(target, result.outDir);
  const deployment = await deployProduction(target, published.version.id, "initial demo model");
  progress(
    `published ${published.version.name} v${published.version.version} and deployed (revision ${deployment.revision})`,
  );
}
