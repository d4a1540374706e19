import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { OpenAPIHono } from "@hono/zod-openapi";
import { createClient } from "@libsql/client";
import { and, eq, inArray, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { errorEnvelopeSchema } from "#shared/errors.ts";
import { newId } from "#shared/ids.ts";
import { kvKeys } from "#shared/kv.ts";
import type { LiveModel } from "#shared/live-model.ts";
import type { PredictResponse } from "#shared/predict.ts";
import type { ModelVersion } from "#shared/registry.ts";
import { listen, publishControlPlaneLocation } from "../../control-plane/src/control-plane.ts";
import { createApiClient } from "../../control-plane/src/modules/identity/api-clients.ts";
import { createTenant } from "../../control-plane/src/modules/identity/tenants.ts";
import {
  auditLog,
  ingestedEvents,
  monitoringHourly,
  predictions,
  retrainingCandidates,
  retrainingJobs,
} from "../../control-plane/src/platform/db/schema/index.ts";
import type { EdgeStore } from "../../control-plane/src/platform/edge-store/edge-store.ts";
import type { HonoEnv } from "../../control-plane/src/platform/env.ts";
import { type Platform, startPlatform } from "../../scripts/lib/platform.ts";
import { toCsv } from "../../trainer/src/data/csv-writer.ts";
import { generateTelco, TELCO_COLUMNS } from "../../trainer/src/data/synthetic.ts";
import { clientCredentialsToken } from "../../trainer/src/remote/control-plane-client.ts";
import { type ModelFixture, SAMPLE_CUSTOMER, trainFixtureModel } from "../helpers/model-fixture.ts";

const CHURN_CLI = resolve(import.meta.dirname, "../../bin/churn.js");

/**
 * Fault injection against the running platform (edge in workerd, control plane on a libSQL file, the churn
 * CLI as child processes). Each test injects one fault into its own tenant and asserts what is kept.
 */
describe("faults", () => {
  let dir: string;
  let platform: Platform;
  let modelA: ModelFixture;
  let modelB: ModelFixture;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "churn-faults-"));
    platform = await startPlatform({
      dataDir: join(dir, "data"),
      controlPlanePort: 0,
      edgePort: 0,
      demoRows: 800,
      demoTimeBudget: 3,
    });
    [modelA, modelB] = await Promise.all([
      trainFixtureModel(join(dir, "model-a"), { rows: 600, seed: 11 }),
      trainFixtureModel(join(dir, "model-b"), { rows: 600, seed: 12 }),
    ]);
  });

  afterAll(async () => {
    await platform?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const db = () => platform.deps.db;
  const cpUrl = () => platform.controlPlane.url;

  /** Swaps the control plane's listener (a new port), and tells the edge where it now is. */
  async function serveControlPlane(app: OpenAPIHono<HonoEnv> = platform.app): Promise<void> {
    await platform.controlPlane.close();
    platform.controlPlane = await listen(app, "127.0.0.1", 0);
    await publishControlPlaneLocation(platform.deps.edge, platform.controlPlane.url);
  }

  async function cp(path: string, token: string, init: { method?: string; body?: unknown } = {}) {
    return fetch(`${cpUrl()}${path}`, {
      method: init.method ?? "GET",
      headers: {
        authorization: `Bearer ${token}`,
        ...(init.body !== undefined ? { "content-type": "application/json" } : {}),
      },
      ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
    });
  }

  async function ok<T>(res: Promise<Response>, status = 200): Promise<T> {
    const r = await res;
    const text = await r.text();
    expect(r.status, text).toBe(status);
    return JSON.parse(text) as T;
  }

  const modelName = (model: ModelFixture) => (JSON.parse(model.manifestText) as { name: string }).name;

  /** The model's files as `churn publish` sends them. */
  async function publishForm(model: ModelFixture): Promise<FormData> {
    const form = new FormData();
    form.set("manifest", model.manifestText);
    form.set("model", new Blob([model.bytes as BlobPart]), "model.onnx");
    return form;
  }

  function publish(model: ModelFixture, token: string, idempotencyKey?: string) {
    return publishForm(model).then((body) =>
      fetch(`${cpUrl()}/v1/models/${modelName(model)}/versions`, {
        method: "POST",
        headers: {
          authorization: `Bearer ${token}`,
          ...(idempotencyKey ? { "idempotency-key": idempotencyKey } : {}),
        },
        body,
      }),
    );
  }

  const deploy = (token: string, versionId: string) =>
    cp("/v1/deployment", token, { method: "PUT", body: { production: versionId, reason: "fault test" } });

  /** A tenant of its own, serving model A, with a client that may predict and send feedback. */
  async function newTenant(label: string) {
    const created = await createTenant(db(), {
      name: `Faults ${label}`,
      ownerEmail: `owner-${newId("request").slice(4, 12)}@faults.test`,
      ownerName: "Owner",
    });
    const owner = created.ownerToken;
    const client = await createApiClient(
      db(),
      { actor: { type: "user", id: created.ownerId }, requestId: null, ip: null, userAgent: null },
      { tenantId: created.tenantId, name: "faults", scopes: ["predict", "feedback:write"] },
    );
    const token = await clientCredentialsToken(cpUrl(), client.client.id, client.clientSecret);
    const published = await ok<{ version: ModelVersion }>(publish(modelA, owner), 201);
    await ok(deploy(owner, published.version.id));
    const edge = (path: string, body?: unknown) =>
      fetch(`${platform.state.edgeUrl}${path}`, {
        method: body === undefined ? "GET" : "POST",
        headers: {
          authorization: `Bearer ${token}`,
          ...(body !== undefined ? { "content-type": "application/json" } : {}),
        },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
    const predict = async (customerIds: string[]) => {
      const res = await edge("/v1/predict", {
        records: customerIds.map((customerId) => ({ customerId, ...SAMPLE_CUSTOMER })),
      });
      expect(res.status).toBe(200);
      return (await res.json()) as PredictResponse;
    };
    return { tenantId: created.tenantId, owner, production: published.version, edge, predict };
  }

  async function eventually<T>(read: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 45_000) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = await read();
      if (done(value) || Date.now() > deadline) return value;
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  const storedPredictions = (tenantId: string) =>
    db().select().from(predictions).where(eq(predictions.tenantId, tenantId));
  const storedEvents = (tenantId: string) =>
    db().select().from(ingestedEvents).where(eq(ingestedEvents.tenantId, tenantId));
  const monitoredRecords = async (tenantId: string) => {
    const [row] = await db()
      .select({ records: sql<number>`coalesce(sum(${monitoringHourly.records}), 0)` })
      .from(monitoringHourly)
      .where(eq(monitoringHourly.tenantId, tenantId));
    return Number(row?.records ?? 0);
  };
  /** Each id with the number of stored prediction events that carry it. */
  const predictionEventCounts = async (tenantId: string, ids: string[]) => {
    const events = (await storedEvents(tenantId)).filter((e) => e.type === "prediction");
    return Object.fromEntries(ids.map((id) => [id, events.filter((e) => e.payload.includes(id)).length]));
  };

  it("the control plane is down while the edge serves and collects feedback: once it is back, every prediction and feedback event arrives exactly once", async () => {
    const t = await newTenant("outage");
    await platform.controlPlane.close();
    let feedbackIds: string[];
    let predictionIds: string[];
    try {
      const scored = [await t.predict(["o-1", "o-2"]), await t.predict(["o-3"]), await t.predict(["o-4"])];
      predictionIds = scored.flatMap((s) => s.predictions.map((p) => p.predictionId));
      feedbackIds = [];
      for (const [i, predictionId] of predictionIds.entries()) {
        const res = await t.edge("/v1/feedback", { feedback: [{ predictionId, churned: i % 2 === 0 }] });
        expect(res.status).toBe(202);
        feedbackIds.push(((await res.json()) as { eventId: string }).eventId);
      }
      await new Promise((r) => setTimeout(r, 3_000)); // deliveries fail and are retried meanwhile
    } finally {
      await serveControlPlane();
    }

    const labeled = await eventually(
      () => storedPredictions(t.tenantId),
      (rows) => rows.filter((r) => r.label !== null).length === predictionIds.length,
    );
    expect(labeled.map((r) => r.predictionId).sort()).toEqual([...predictionIds].sort());
    for (const [i, id] of predictionIds.entries())
      expect(labeled.find((r) => r.predictionId === id)!.label).toBe(i % 2 === 0);
    const feedbackEvents = (await storedEvents(t.tenantId)).filter((e) => e.type === "feedback");
    expect(feedbackEvents.map((e) => e.eventId).sort()).toEqual([...feedbackIds].sort());
    expect(await predictionEventCounts(t.tenantId, predictionIds)).toEqual(
      Object.fromEntries(predictionIds.map((id) => [id, 1])),
    );
    expect(await monitoredRecords(t.tenantId)).toBe(predictionIds.length);
  }, 90_000);

  it("the queue redelivers a batch whose acknowledgement was lost: predictions, labels and monitoring count it once", async () => {
    const t = await newTenant("redelivery");
    // The control plane stores the tenant's first delivery, but its answer never reaches the consumer.
    const deliveries: { eventIds: string[]; lost: boolean; duplicates: number }[] = [];
    const lossy = new OpenAPIHono<HonoEnv>();
    lossy.all("*", async (c) => {
      const body = c.req.path === "/v1/ingest/events" ? await c.req.raw.clone().text() : "";
      const res = await platform.app.fetch(c.req.raw);
      if (!body.includes(t.tenantId) || !res.ok) return res;
      const { events } = JSON.parse(body) as { events: { eventId: string }[] };
      const lost = deliveries.length === 0;
      const { duplicates } = (await res.clone().json()) as { duplicates: number };
      deliveries.push({ eventIds: events.map((e) => e.eventId), lost, duplicates });
      return lost ? c.text("connection reset", 502) : res;
    });
    const redelivered = () => {
      const [first, ...later] = deliveries;
      const again = new Set(later.flatMap((d) => d.eventIds));
      return first?.eventIds.every((id) => again.has(id)) === true;
    };
    await serveControlPlane(lossy);
    let predictionIds: string[];
    try {
      const scored = await t.predict(["r-1", "r-2", "r-3"]);
      predictionIds = scored.predictions.map((p) => p.predictionId);
      const fed = await t.edge("/v1/feedback", {
        feedback: [{ predictionId: predictionIds[0], churned: true }],
      });
      expect(fed.status).toBe(202);
      await eventually(async () => redelivered(), Boolean);
    } finally {
      await serveControlPlane();
    }

    // The lost batch came again and was answered as duplicates, not stored twice.
    expect(deliveries[0]!.lost).toBe(true);
    expect(redelivered()).toBe(true);
    const duplicates = deliveries.slice(1).reduce((sum, d) => sum + d.duplicates, 0);
    expect(duplicates).toBe(deliveries[0]!.eventIds.length);
    await eventually(
      () => storedPredictions(t.tenantId),
      (rows) => rows.some((r) => r.label !== null),
    );
    const rows = await storedPredictions(t.tenantId);
    expect(rows.map((r) => r.predictionId).sort()).toEqual([...predictionIds].sort());
    expect(rows.filter((r) => r.label === true).map((r) => r.predictionId)).toEqual([predictionIds[0]]);
    expect(await predictionEventCounts(t.tenantId, predictionIds)).toEqual(
      Object.fromEntries(predictionIds.map((id) => [id, 1])),
    );
    expect((await storedEvents(t.tenantId)).filter((e) => e.type === "feedback")).toHaveLength(1);
    expect(await monitoredRecords(t.tenantId)).toBe(3);
  }, 90_000);

  it("the database is locked during a publish: a 503 envelope, no half-written version, and the retried publish succeeds", async () => {
    const t = await newTenant("locked");
    const versions = async () =>
      (await ok<{ versions: ModelVersion[] }>(cp(`/v1/models/${modelName(modelB)}/versions`, t.owner)))
        .versions;
    const publishes = async () =>
      (
        await db()
          .select({ id: auditLog.id })
          .from(auditLog)
          .where(and(eq(auditLog.tenantId, t.tenantId), eq(auditLog.action, "model_version.publish")))
      ).length;
    const before = { versions: await versions(), publishes: await publishes() };

    // Another process holds the write lock (a backup, a migration, a stuck writer) past the busy timeout.
    // Refused twice: in the publish's own transaction, and (with an Idempotency-Key) at the key's claim.
    const other = createClient({ url: platform.deps.config.DATABASE_URL });
    const lock = await other.transaction("write");
    const key = newId("request");
    const refused: Response[] = [];
    try {
      refused.push(await publish(modelB, t.owner));
      refused.push(await publish(modelB, t.owner, key));
    } finally {
      await lock.rollback();
      other.close();
    }

    for (const res of refused) {
      expect(res.status).toBe(503);
      expect(res.headers.get("retry-after")).toBe("5");
      const envelope = errorEnvelopeSchema.parse(await res.json());
      expect(envelope.error.code).toBe("UNAVAILABLE");
      expect(envelope.error.requestId).toBe(res.headers.get("x-request-id"));
    }
    expect(await versions()).toEqual(before.versions);
    expect(await publishes()).toBe(before.publishes);

    const retried = await ok<{ created: boolean; version: ModelVersion }>(publish(modelB, t.owner, key), 201);
    expect(retried.created).toBe(true);
    const after = await versions();
    expect(after).toHaveLength(before.versions.length + 1);
    expect(after.filter((v) => v.sha256 === retried.version.sha256)).toHaveLength(1);
    expect(await publishes()).toBe(before.publishes + 1);
  }, 90_000);

  interface CrashIds {
    versionId: string;
    tenantId: string;
  }

  /** The edge store, failing (like a process dying there) at the first write whose key matches. */
  function crashingAt(real: EdgeStore, matches: (key: string) => boolean): EdgeStore {
    return {
      kind: real.kind,
      get: (key) => real.get(key),
      put: (key, value) =>
        matches(key) ? Promise.reject(new Error(`edge store lost at ${key}`)) : real.put(key, value),
    };
  }

  it.each([
    [
      "after the version's bytes, before its manifest",
      (ids: CrashIds) => kvKeys.modelManifest(ids.versionId),
    ],
    ["after the bytes and manifest, before the pointer", (ids: CrashIds) => kvKeys.deployment(ids.tenantId)],
  ] as const)(
    "a deploy dies between its KV writes (%s): the edge keeps serving the previous version, and the retried deploy completes",
    async (_stage, crashKey) => {
      const t = await newTenant("deploy-crash");
      const next = (await ok<{ version: ModelVersion }>(publish(modelB, t.owner), 201)).version;
      const previous = t.production;
      const failAt = crashKey({ versionId: next.id, tenantId: t.tenantId });
      const pointerBefore = await platform.edge.kv.get(kvKeys.deployment(t.tenantId), "text");
      const revisionBefore = (await ok<{ revision: number }>(cp("/v1/deployment", t.owner))).revision;

      const real = platform.deps.edge;
      platform.deps.edge = crashingAt(real, (key) => key === failAt);
      let failed: Response;
      try {
        failed = await deploy(t.owner, next.id);
      } finally {
        platform.deps.edge = real;
      }
      expect(failed.status).toBe(503);
      expect(errorEnvelopeSchema.parse(await failed.json()).error.code).toBe("UNAVAILABLE");
      expect(await platform.edge.kv.get(kvKeys.deployment(t.tenantId), "text")).toBe(pointerBefore);
      if (failAt !== kvKeys.deployment(t.tenantId)) {
        // Nothing was committed: the control plane still reports the previous revision.
        expect((await ok<{ revision: number }>(cp("/v1/deployment", t.owner))).revision).toBe(revisionBefore);
      }
      // Past the edge's pointer cache, the previous version still serves, from the deployment itself.
      await new Promise((r) => setTimeout(r, 5_500));
      expect((await t.predict(["d-1"])).model.versionId).toBe(previous.id);
      const live = (await (await t.edge("/v1/models/live")).json()) as LiveModel;
      expect(live).toMatchObject({ production: { versionId: previous.id }, servedBy: "deployment" });
      // A revision committed without its pointer is never reported as reaching the edge.
      const recorded = await ok<{ revision: number; edge: { confirmed: boolean } }>(
        cp("/v1/deployment", t.owner),
      );
      if (recorded.revision > revisionBefore) expect(recorded.edge.confirmed).toBe(false);

      await ok(deploy(t.owner, next.id));
      const served = await eventually(
        async () => (await t.predict(["d-2"])).model.versionId,
        (id) => id === next.id,
        15_000,
      );
      expect(served).toBe(next.id);
    },
    60_000,
  );

  it("a worker crashes mid-retraining: its lease lapses, a second worker completes the job exactly once", async () => {
    const t = await newTenant("worker-crash");
    const data = join(dir, "retraining.csv");
    await writeFile(data, toCsv(generateTelco(1200, 5), TELCO_COLUMNS));
    await ok(
      cp("/v1/retraining/policy", t.owner, {
        method: "PUT",
        body: { dataSource: data, timeBudgetSeconds: 3, leaseSeconds: 10, maxAttempts: 3 },
      }),
    );
    const job = await ok<{ id: string }>(
      cp("/v1/retraining/jobs", t.owner, { method: "POST", body: { reason: "crash test" } }),
      201,
    );
    const jobRow = async () =>
      (await db().select().from(retrainingJobs).where(eq(retrainingJobs.id, job.id)))[0]!;
    const worker = () =>
      runCli(["worker", "--control-plane", cpUrl(), "--token", t.owner, "--once", "--json"], dir);

    const first = worker();
    try {
      const claimed = await eventually(jobRow, (j) => j.state === "running", 30_000);
      expect(claimed.state).toBe("running");
      first.child.kill("SIGKILL"); // mid-job: claimed, not yet reported
      await first.exit;
    } finally {
      first.child.kill("SIGKILL");
    }
    const orphaned = await jobRow();
    expect(orphaned).toMatchObject({ state: "running", attempts: 1 });
    await new Promise((r) => setTimeout(r, Math.max(0, orphaned.leaseExpiresAt! - Date.now()) + 200));

    const second = worker();
    const exit = await second.exit;
    expect(exit.code, exit.output).toBe(0);
    const outcome = JSON.parse(exit.stdout.trim().split("\n").at(-1)!) as { jobId: string; status: string };
    expect(outcome).toMatchObject({ jobId: job.id, status: "completed" });

    const done = await jobRow();
    expect(done).toMatchObject({ state: "succeeded", attempts: 2 });
    expect(done.worker).not.toBe(orphaned.worker);
    const candidates = await db()
      .select()
      .from(retrainingCandidates)
      .where(eq(retrainingCandidates.tenantId, t.tenantId));
    expect(candidates.map((c) => c.jobId)).toEqual([job.id]);
    const actions = await db()
      .select({ action: auditLog.action })
      .from(auditLog)
      .where(
        and(
          eq(auditLog.tenantId, t.tenantId),
          inArray(auditLog.action, ["retraining.claim", "retraining.complete", "retraining.fail"]),
        ),
      );
    expect(actions.map((a) => a.action).sort()).toEqual([
      "retraining.claim",
      "retraining.claim",
      "retraining.complete",
    ]);
  }, 120_000);
});

/** The churn CLI as a real child process, with its output and exit. */
function runCli(
  args: string[],
  tmp: string,
): {
  child: ChildProcess;
  exit: Promise<{ code: number | null; stdout: string; output: string }>;
} {
  // Its work folder goes under `tmp`, so a killed worker's leftovers are removed with the suite's.
  const child = spawn(process.execPath, [CHURN_CLI, ...args], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, TMPDIR: tmp },
  });
  let stdout = "";
  let output = "";
  child.stdout!.on("data", (d: Buffer) => {
    stdout += d.toString();
    output += d.toString();
  });
  child.stderr!.on("data", (d: Buffer) => {
    output += d.toString();
  });
  const exit = new Promise<{ code: number | null; stdout: string; output: string }>((done) =>
    child.once("exit", (code) => done({ code, stdout, output })),
  );
  return { child, exit };
}
