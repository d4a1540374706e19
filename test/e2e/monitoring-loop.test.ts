import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { and, count, eq, gte } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { webhookPayloadSchema } from "#shared/alerts.ts";
import type { PredictResponse } from "#shared/predict.ts";
import type { Candidate } from "#shared/retraining.ts";
import { SIGNATURE_HEADER, verifyBodySignature } from "#shared/signature.ts";
import { createApiClient } from "../../control-plane/src/modules/identity/api-clients.ts";
import { createTenant } from "../../control-plane/src/modules/identity/tenants.ts";
import { auditLog, predictions } from "../../control-plane/src/platform/db/schema/index.ts";
import { schedulerTick, type TickReport } from "../../control-plane/src/platform/scheduler/tick.ts";
import { type Platform, startPlatform } from "../../scripts/lib/platform.ts";
import { main } from "../../trainer/src/cli/main.ts";
import { toCsv } from "../../trainer/src/data/csv-writer.ts";
import { generateTelco, TELCO_COLUMNS, type TelcoRow } from "../../trainer/src/data/synthetic.ts";
import { createRandom, shuffleInPlace } from "../../trainer/src/ml/random.ts";
import {
  clientCredentialsToken,
  deployProduction,
  publishModelDir,
} from "../../trainer/src/remote/control-plane-client.ts";
import { runWorker } from "../../trainer/src/worker/worker.ts";

/**
 * The monitoring loop against real components: the edge in workerd, the control plane on libSQL, the
 * trainer's worker. Drifted traffic → drift alert → signed webhook → retraining job → worker → gate →
 * canary → promotion; and a worse candidate that the gate turns away.
 */
describe("monitoring loop", () => {
  let dir: string;
  let platform: Platform;
  let hook: WebhookReceiver;
  const previousInterval = process.env["SCHEDULER_INTERVAL_SECONDS"];

  beforeAll(async () => {
    // The test drives the scheduler itself, with its own clock.
    process.env["SCHEDULER_INTERVAL_SECONDS"] = "0";
    dir = await mkdtemp(join(tmpdir(), "churn-loop-"));
    [platform, hook] = await Promise.all([
      startPlatform({
        dataDir: join(dir, "data"),
        controlPlanePort: 0,
        edgePort: 0,
        demoRows: 1500,
        demoTimeBudget: 4,
      }),
      startWebhookReceiver(),
    ]);
  });

  afterAll(async () => {
    await platform?.stop();
    await hook?.close();
    await rm(dir, { recursive: true, force: true });
    if (previousInterval === undefined) delete process.env["SCHEDULER_INTERVAL_SECONDS"];
    else process.env["SCHEDULER_INTERVAL_SECONDS"] = previousInterval;
  });

  const cp = (path: string, token: string, init: { method?: string; body?: unknown } = {}) =>
    fetch(`${platform.state.controlPlaneUrl}${path}`, {
      method: init.method ?? "GET",
      headers: {
        authorization: `Bearer ${token}`,
        ...(init.body !== undefined ? { "content-type": "application/json" } : {}),
      },
      ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
    });
  const ok = async <T>(res: Promise<Response>, status = 200): Promise<T> => {
    const r = await res;
    const text = await r.text();
    expect(r.status, text).toBe(status);
    return (text ? JSON.parse(text) : null) as T;
  };

  /** Scores rows through the edge, 100 per request; returns the prediction ids in row order. */
  async function predictThroughEdge(token: string, rows: TelcoRow[]): Promise<string[]> {
    const ids: string[] = [];
    for (let i = 0; i < rows.length; i += 100) {
      const res = await fetch(`${platform.state.edgeUrl}/v1/predict`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: JSON.stringify({ records: rows.slice(i, i + 100).map(asRecord) }),
      });
      const text = await res.text();
      expect(res.status, text).toBe(200);
      ids.push(...(JSON.parse(text) as PredictResponse).predictions.map((p) => p.predictionId));
    }
    return ids;
  }

  /** Waits until the control plane has stored at least `n` predictions of the tenant since `since`. */
  async function waitForPredictions(tenantId: string, n: number, since = 0, timeoutMs = 30_000) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const [row] = await platform.deps.db
        .select({ n: count() })
        .from(predictions)
        .where(and(eq(predictions.tenantId, tenantId), gte(predictions.predictedAt, since)));
      if ((row?.n ?? 0) >= n) return row!.n;
      if (Date.now() > deadline) throw new Error(`only ${row?.n ?? 0} of ${n} predictions arrived`);
      await new Promise((r) => setTimeout(r, 150));
    }
  }

  async function countCanary(tenantId: string, versionId: string): Promise<number> {
    const [row] = await platform.deps.db
      .select({ n: count() })
      .from(predictions)
      .where(
        and(
          eq(predictions.tenantId, tenantId),
          eq(predictions.versionId, versionId),
          eq(predictions.variant, "canary"),
        ),
      );
    return row?.n ?? 0;
  }

  const tick = (now: number): Promise<TickReport> =>
    schedulerTick(platform.deps, { now }).then((report) => {
      expect(report.errors).toEqual([]);
      return report;
    });

  async function auditActions(tenantId: string): Promise<{ action: string; details: string }[]> {
    return platform.deps.db
      .select({ action: auditLog.action, details: auditLog.details })
      .from(auditLog)
      .where(eq(auditLog.tenantId, tenantId))
      .orderBy(auditLog.seq);
  }

  it("drift → alert → signed webhook → retraining → gate → canary → promotion, every step audited", async () => {
    const { state } = platform;
    const owner = state.ownerToken;
    const started = Date.now();
    const drifted = join(dir, "price-rise.csv");
    const out: string[] = [];
    const io = { out: (t: string) => out.push(t), err: (t: string) => out.push(t) };
    expect(
      await main(
        ["synth", "--scenario", "price-rise", "--rows", "2500", "--seed", "7", "--out", drifted],
        io,
      ),
    ).toBe(0);

    await ok(
      cp("/v1/settings/monitoring", owner, {
        method: "PUT",
        body: { drift: { minSamples: 300 }, rawRecords: { enabled: true } },
      }),
    );
    await ok(
      cp("/v1/alerts/rules", owner, {
        method: "PUT",
        body: { driftScore: 0.1, estimatedAucDrop: null, dataQualityRate: null },
      }),
    );
    const webhook = await ok<{ id: string; secret: string }>(
      cp("/v1/webhooks", owner, { method: "POST", body: { url: hook.url } }),
      201,
    );
    expect(webhook.secret).toMatch(/^whsec_/);
    const listed = await ok<{ webhooks: Record<string, unknown>[] }>(cp("/v1/webhooks", owner));
    expect(JSON.stringify(listed)).not.toContain(webhook.secret);
    await ok(
      cp("/v1/retraining/policy", owner, {
        method: "PUT",
        body: {
          trigger: "alert",
          dataSource: drifted,
          timeBudgetSeconds: 3,
          gate: { metric: "log_loss", margin: 0.02 },
          canaryWeight: 50,
          promotion: { mode: "auto", minPredictions: 150, tolerance: 0.05 },
          leaseSeconds: 60,
        },
      }),
    );
    const before = await ok<{ production: { versionId: string } }>(cp("/v1/deployment", owner));

    // Drifted traffic in batches of 100; the scheduler evaluates after each. Quiet below 300 records, then
    // the drift must show within a bounded number of records.
    const edgeToken = await clientCredentialsToken(state.controlPlaneUrl, state.clientId, state.clientSecret);
    const traffic = generateTelco(800, 99, "price-rise");
    let sent = 0;
    let fired: TickReport["alerts"][number] | undefined;
    const predictionIds: string[] = [];
    while (!fired && sent < 800) {
      predictionIds.push(...(await predictThroughEdge(edgeToken, traffic.slice(sent, sent + 100))));
      sent += 100;
      await waitForPredictions(state.tenantId, sent, started);
      const report = await tick(Date.now());
      if (sent < 300) expect(report.alerts).toEqual([]);
      fired = report.alerts.find((a) => a.event === "alert.fire");
    }
    expect(fired, `no drift alert after ${sent} drifted records`).toBeDefined();
    expect(sent).toBeLessThanOrEqual(400);
    expect(fired!.alert.kind).toBe("drift_score");
    expect(fired!.alert.value).toBeGreaterThanOrEqual(0.1);
    expect(fired!.jobId).toMatch(/^job_/);

    // One episode: evaluating again while the drift holds fires nothing new.
    expect((await tick(Date.now())).alerts).toEqual([]);

    // The receiver refuses the first delivery (500): it is retried with backoff, then delivered, signed.
    expect(hook.received.length).toBe(1);
    expect(hook.received[0]!.status).toBe(500);
    const retried = await tick(Date.now() + 31_000);
    expect(retried.deliveries.delivered).toBe(1);
    const delivery = hook.received[1]!;
    expect(await verifyBodySignature(webhook.secret, delivery.body, delivery.signature)).toBe(true);
    expect(await verifyBodySignature("whsec_wrong", delivery.body, delivery.signature)).toBe(false);
    const payload = webhookPayloadSchema.parse(JSON.parse(delivery.body));
    expect(payload).toMatchObject({ type: "alert.fire", tenantId: state.tenantId });
    expect(payload.alert.id).toBe(fired!.alert.id);
    expect(delivery.body).toBe(hook.received[0]!.body);
    const deliveries = await ok<{ deliveries: { state: string; attempts: number; lastStatus: number }[] }>(
      cp(`/v1/webhooks/${webhook.id}/deliveries`, owner),
    );
    expect(deliveries.deliveries).toMatchObject([{ state: "delivered", attempts: 2, lastStatus: 200 }]);

    // Outcomes for the first 300 predictions: labeled raw records join the worker's training data.
    const labels = traffic.slice(0, 300).map((r, i) => ({
      predictionId: predictionIds[i]!,
      churned: r.Churn === "Yes",
    }));
    const fed = await fetch(`${state.edgeUrl}/v1/feedback`, {
      method: "POST",
      headers: { authorization: `Bearer ${edgeToken}`, "content-type": "application/json" },
      body: JSON.stringify({ feedback: labels }),
    });
    expect(fed.status).toBe(202);

    // The worker, as the CLI, with a client holding exactly the scopes it needs.
    const workerClient = await createApiClient(
      platform.deps.db,
      { actor: { type: "system", id: "test" }, requestId: null, ip: null, userAgent: null },
      { tenantId: state.tenantId, name: "worker", scopes: ["retraining:run", "models:publish"] },
    );
    const workerToken = await clientCredentialsToken(
      state.controlPlaneUrl,
      workerClient.client.id,
      workerClient.clientSecret,
    );
    await waitForLabels(state.tenantId, 1);
    const workerOut: string[] = [];
    const workerIo = { out: (t: string) => workerOut.push(t), err: (t: string) => workerOut.push(t) };
    const code = await main(
      ["worker", "--control-plane", state.controlPlaneUrl, "--token", workerToken, "--once", "--json"],
      workerIo,
    );
    expect(code, workerOut.join("")).toBe(0);
    const fromFeedback = Number(/\((\d+) from feedback\)/.exec(workerOut.join(""))?.[1]);
    expect(fromFeedback).toBeGreaterThan(0);
    const outcome = JSON.parse(workerOut.find((l) => l.startsWith("{"))!) as { candidate: Candidate };
    const candidate = outcome.candidate;
    expect(candidate.state, JSON.stringify(candidate)).toBe("canary");
    expect(candidate.holdout.candidate.logLoss).toBeLessThan(candidate.holdout.production!.logLoss - 0.02);
    const canaried = await ok<{
      production: { versionId: string };
      canary: { versionId: string; weight: number };
    }>(cp("/v1/deployment", owner));
    expect(canaried.production.versionId).toBe(before.production.versionId);
    expect(canaried.canary).toMatchObject({ versionId: candidate.versionId, weight: 50 });

    // Canary traffic: promotion waits for 150 canary predictions, then happens on the next tick.
    const canaryStart = Date.now();
    expect((await tick(Date.now())).candidates).toEqual([]);
    // The edge picks the new revision up within its pointer cache (≤ 5 s); send until 150 canary
    // predictions are stored.
    let canaryScored = 0;
    for (let i = 0; canaryScored < 150; i++) {
      expect(i, "canary predictions never reached 150").toBeLessThan(20);
      const batch = generateTelco(100, 1000 + i, "price-rise");
      await predictThroughEdge(edgeToken, batch);
      await waitForPredictions(state.tenantId, (i + 1) * 100, canaryStart);
      canaryScored = await countCanary(state.tenantId, candidate.versionId);
    }
    const promoted = await tick(Date.now());
    expect(promoted.candidates).toMatchObject([{ id: candidate.id, state: "promoted" }]);
    const after = await ok<{ production: { versionId: string }; canary: null }>(cp("/v1/deployment", owner));
    expect(after.production.versionId).toBe(candidate.versionId);
    expect(after.canary).toBeNull();

    const actions = (await auditActions(state.tenantId)).map((a) => a.action);
    const steps = [
      "alert_rule.update",
      "webhook.create",
      "retraining.policy.update",
      "alert.fire",
      "retraining.request",
      "retraining.claim",
      "model_version.publish",
      "retraining.complete",
      "candidate.canary",
      "deployment.update",
      "candidate.promote",
      "deployment.update",
    ];
    expect(inOrder(actions, steps), actions.join(", ")).toBe(true);
    expect(actions.filter((a) => a === "alert.fire")).toHaveLength(1);
    expect(await main(["audit", "verify", "--url", state.controlPlaneUrl, "--token", owner], io)).toBe(0);
  });

  it("a worse candidate (trained on shuffled labels) is rejected with its reason; production is unchanged", async () => {
    const { state, deps } = platform;
    // A tenant of its own, serving the demo model.
    const tenant = await createTenant(deps.db, {
      name: "Gate Co",
      ownerEmail: "owner@gate.test",
      ownerName: "Gate",
    });
    const owner = tenant.ownerToken;
    const target = { url: state.controlPlaneUrl, token: owner };
    const demo = await publishModelDir(target, join(dir, "data", "demo", "model"));
    const deployed = await deployProduction(target, demo.version.id, "demo model");

    const rows = generateTelco(2000, 13, "price-rise");
    const labels = rows.map((r) => r.Churn);
    shuffleInPlace(labels, createRandom(5));
    const shuffled = join(dir, "shuffled.csv");
    await writeFile(
      shuffled,
      toCsv(
        rows.map((r, i) => ({ ...r, Churn: labels[i]! })),
        TELCO_COLUMNS,
      ),
    );
    const holdout = join(dir, "holdout.csv");
    await writeFile(holdout, toCsv(generateTelco(600, 14, "price-rise"), TELCO_COLUMNS));
    await ok(
      cp("/v1/retraining/policy", owner, {
        method: "PUT",
        body: { dataSource: shuffled, holdoutSource: holdout, timeBudgetSeconds: 2, leaseSeconds: 60 },
      }),
    );
    const job = await ok<{ id: string; state: string }>(
      cp("/v1/retraining/jobs", owner, { method: "POST", body: { reason: "gate check" } }),
      201,
    );
    expect(job.state).toBe("queued");
    // A second request while one is queued is refused.
    expect((await cp("/v1/retraining/jobs", owner, { method: "POST", body: {} })).status).toBe(409);

    const outcomes = await runWorker({ target, once: true });
    expect(outcomes).toHaveLength(1);
    const outcome = outcomes[0]!;
    expect(outcome.status).toBe("completed");
    if (outcome.status !== "completed") return;
    const candidate = outcome.candidate;
    expect(candidate.state).toBe("rejected");
    expect(candidate.holdout.rows).toBe(600);
    expect(candidate.holdout.candidate.auc).toBeLessThan(candidate.holdout.production!.auc);
    expect(candidate.reason).toMatch(/holdout AUC .* below the margin 0\.005/);

    const now = await ok<{ revision: number; production: { versionId: string }; canary: null }>(
      cp("/v1/deployment", owner),
    );
    expect(now.revision).toBe(deployed.revision);
    expect(now.production.versionId).toBe(demo.version.id);
    expect(now.canary).toBeNull();
    const jobs = await ok<{ jobs: { id: string; state: string; candidateId: string }[] }>(
      cp("/v1/retraining/jobs", owner),
    );
    expect(jobs.jobs[0]).toMatchObject({ id: job.id, state: "succeeded", candidateId: candidate.id });
    const listed = await ok<{ candidates: Candidate[] }>(cp("/v1/candidates", owner));
    expect(listed.candidates[0]).toMatchObject({
      id: candidate.id,
      state: "rejected",
      reason: candidate.reason,
    });

    const audit = await auditActions(tenant.tenantId);
    const steps = [
      "retraining.request",
      "retraining.claim",
      "model_version.publish",
      "retraining.complete",
      "candidate.reject",
    ];
    expect(
      inOrder(
        audit.map((a) => a.action),
        steps,
      ),
    ).toBe(true);
    const reject = audit.find((a) => a.action === "candidate.reject")!;
    expect(JSON.parse(reject.details)).toMatchObject({ reason: candidate.reason });
    expect(audit.filter((a) => a.action === "deployment.update")).toHaveLength(1);
  });

  async function waitForLabels(tenantId: string, n: number, timeoutMs = 20_000) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const rows = await platform.deps.db
        .select({ label: predictions.label })
        .from(predictions)
        .where(eq(predictions.tenantId, tenantId));
      if (rows.filter((r) => r.label !== null).length >= n) return;
      if (Date.now() > deadline) throw new Error("no feedback arrived");
      await new Promise((r) => setTimeout(r, 150));
    }
  }
});

/** Whether `steps` occur in `actions` in this order (other actions may sit between them). */
function inOrder(actions: readonly string[], steps: readonly string[]): boolean {
  let at = 0;
  for (const step of steps) {
    const found = actions.indexOf(step, at);
    if (found < 0) return false;
    at = found + 1;
  }
  return true;
}

/** A Telco row as the edge takes it: numbers as numbers, the id as customerId, no target. */
function asRecord(row: TelcoRow): Record<string, string | number | null> {
  const { customerID, Churn: _, SeniorCitizen, tenure, MonthlyCharges, TotalCharges, ...rest } = row;
  return {
    customerId: customerID,
    ...rest,
    SeniorCitizen: Number(SeniorCitizen),
    tenure: Number(tenure),
    MonthlyCharges: Number(MonthlyCharges),
    TotalCharges: TotalCharges.trim() === "" ? null : Number(TotalCharges),
  };
}

interface WebhookReceiver {
  url: string;
  received: { status: number; body: string; signature: string | undefined; headers: IncomingHttpHeaders }[];
  close(): Promise<void>;
}

/** A local HTTP endpoint that answers 500 to the first delivery and 200 afterwards. */
async function startWebhookReceiver(): Promise<WebhookReceiver> {
  const received: WebhookReceiver["received"] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const status = received.length === 0 ? 500 : 200;
      const signature = req.headers[SIGNATURE_HEADER];
      received.push({
        status,
        body: Buffer.concat(chunks).toString("utf8"),
        signature: typeof signature === "string" ? signature : undefined,
        headers: req.headers,
      });
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hooks/churn`,
    received,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
