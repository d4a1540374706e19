import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sha256Hex } from "#shared/hash.ts";
import {
  type Candidate,
  candidateSchema,
  type RetrainingClaim,
  retrainingClaimSchema,
  retrainingJobSchema,
} from "#shared/retraining.ts";
import { judgeCandidate } from "../../control-plane/src/modules/retraining/candidates.ts";
import { auditLog, predictions, retrainingJobs } from "../../control-plane/src/platform/db/schema/index.ts";
import { schedulerTick } from "../../control-plane/src/platform/scheduler/tick.ts";
import {
  type ControlPlaneHarness,
  expectAuthRequired,
  expectError,
  type Fixture,
  startControlPlane,
  type TestTenant,
} from "../helpers/control-plane-harness.ts";

let h: ControlPlaneHarness;
let m1: Fixture;
let m2: Fixture;
beforeAll(async () => {
  h = await startControlPlane({ SCHEDULER_INTERVAL_SECONDS: "0" });
  [m1, m2] = await Promise.all([h.fixture(7), h.fixture(8)]);
});
afterAll(() => h?.close());

const send = (method: string, path: string, token: string, body?: unknown) =>
  h.request(path, {
    method,
    token,
    ...(body !== undefined
      ? { headers: { "content-type": "application/json" }, body: JSON.stringify(body) }
      : {}),
  });

async function json<T>(res: Response | Promise<Response>, status = 200): Promise<T> {
  const r = await res;
  const text = await r.text();
  expect(r.status, text).toBe(status);
  return JSON.parse(text) as T;
}

/** A tenant serving m1, with a policy (leases of `leaseSeconds`) and one queued job. */
async function tenantWithJob(policy: Record<string, unknown> = {}) {
  const t = await h.newTenant();
  const production = await t.publish(m1);
  const candidate = await t.publish(m2);
  await t.deploy(production.id);
  await json(send("PUT", "/v1/retraining/policy", t.ownerToken, { dataSource: "customers.csv", ...policy }));
  const job = retrainingJobSchema.parse(
    await json(send("POST", "/v1/retraining/jobs", t.ownerToken, { reason: "test" }), 201),
  );
  return { t, production, candidate, job };
}

const claim = async (t: TestTenant, token = t.ownerToken, worker = "w1") => {
  const res = await send("POST", "/v1/retraining/jobs/claim", token, { worker });
  if (res.status === 204) return null;
  return retrainingClaimSchema.parse(await json(res));
};

const holdout = (
  candidateAuc: number,
  productionAuc = 0.8,
  logLoss = { candidate: 0.4, production: 0.45 },
) => ({
  rows: 400,
  positives: 100,
  candidate: { auc: candidateAuc, logLoss: logLoss.candidate },
  production: { auc: productionAuc, logLoss: logLoss.production },
});

const complete = (t: TestTenant, c: RetrainingClaim, versionId: string, report = holdout(0.85)) =>
  send("POST", `/v1/retraining/jobs/${c.job.id}/complete`, t.ownerToken, {
    leaseToken: c.leaseToken,
    candidateVersionId: versionId,
    holdout: report,
  });

async function actions(tenantId: string): Promise<string[]> {
  const rows = await h.deps.db
    .select({ action: auditLog.action })
    .from(auditLog)
    .where(eq(auditLog.tenantId, tenantId))
    .orderBy(auditLog.seq);
  return rows.map((r) => r.action);
}

describe("the champion/challenger gate", () => {
  const gate = (metric: "auc" | "log_loss", margin: number) => ({ metric, margin });
  it("passes only an improvement of at least the margin, in AUC or in log loss", () => {
    const prod = { auc: 0.8, logLoss: 0.45 };
    expect(judgeCandidate(gate("auc", 0.01), { auc: 0.811, logLoss: 0.5 }, prod)).toMatchObject({
      pass: true,
    });
    expect(judgeCandidate(gate("auc", 0.01), { auc: 0.805, logLoss: 0.3 }, prod)).toMatchObject({
      pass: false,
    });
    expect(judgeCandidate(gate("auc", 0), { auc: 0.8, logLoss: 0.3 }, prod)).toMatchObject({ pass: true });
    expect(judgeCandidate(gate("log_loss", 0.02), { auc: 0.7, logLoss: 0.42 }, prod)).toMatchObject({
      pass: true,
    });
    const worse = judgeCandidate(gate("log_loss", 0.02), { auc: 0.9, logLoss: 0.44 }, prod);
    expect(worse.pass).toBe(false);
    if (!worse.pass) expect(worse.reason).toMatch(/log loss 0\.4400 vs production 0\.4500.*margin 0\.02/);
    expect(judgeCandidate(gate("auc", 0), { auc: 0.9, logLoss: 0.1 }, null)).toMatchObject({ pass: false });
  });
});

describe("retraining jobs and leases", () => {
  it("a claim leases the job once: a second worker finds nothing while the lease holds", async () => {
    const { t, production, job } = await tenantWithJob();
    const [a, b] = await Promise.all([claim(t, t.ownerToken, "a"), claim(t, t.ownerToken, "b")]);
    const won = [a, b].filter((c) => c !== null);
    expect(won).toHaveLength(1);
    const c = won[0]!;
    expect(c.job).toMatchObject({ id: job.id, state: "running", attempts: 1 });
    expect(c.production).toMatchObject({ versionId: production.id, version: production.version });
    expect(c.policy.dataSource).toBe("customers.csv");
    // The production model the worker compares against, as published.
    const model = await h.request(`/v1/retraining/jobs/${job.id}/production-model`, { token: t.ownerToken });
    expect(model.status).toBe(200);
    expect(await sha256Hex(new Uint8Array(await model.arrayBuffer()))).toBe(production.sha256);
    // No raw records stored: the worker gets an empty set.
    expect(await json(h.request(`/v1/retraining/jobs/${job.id}/records`, { token: t.ownerToken }))).toEqual({
      records: [],
    });
    const beat = await json<{ leaseExpiresAt: string }>(
      send("POST", `/v1/retraining/jobs/${job.id}/heartbeat`, t.ownerToken, { leaseToken: c.leaseToken }),
    );
    expect(Date.parse(beat.leaseExpiresAt)).toBeGreaterThanOrEqual(Date.parse(c.leaseExpiresAt));
    expect(await actions(t.tenantId)).toEqual(
      expect.arrayContaining(["retraining.request", "retraining.claim"]),
    );
  });

  it("an expired lease makes the job claimable again; the stale worker's heartbeat, failure and completion are refused", async () => {
    const { t, candidate, job } = await tenantWithJob({ leaseSeconds: 10 });
    const first = (await claim(t, t.ownerToken, "crashed"))!;
    // The lease runs out (the worker crashed or hung).
    await h.deps.db
      .update(retrainingJobs)
      .set({ leaseExpiresAt: Date.now() - 1 })
      .where(eq(retrainingJobs.id, job.id));
    const second = (await claim(t, t.ownerToken, "rescuer"))!;
    expect(second.job).toMatchObject({ id: job.id, attempts: 2, worker: "rescuer" });
    expect(second.leaseToken).not.toBe(first.leaseToken);

    for (const [path, body] of [
      ["heartbeat", { leaseToken: first.leaseToken }],
      ["fail", { leaseToken: first.leaseToken, reason: "late" }],
    ] as const) {
      await expectError(
        await send("POST", `/v1/retraining/jobs/${job.id}/${path}`, t.ownerToken, body),
        409,
        "CONFLICT",
      );
    }
    const stale = await expectError(await complete(t, first, candidate.id), 409, "CONFLICT");
    expect(stale.error.message).toMatch(/another worker's lease/);
    // The current holder completes normally.
    const done = candidateSchema.parse(await json(complete(t, second, candidate.id)));
    expect(done.state).toBe("canary");
  });

  it("after its last attempt an expired job fails with the reason, audited", async () => {
    const { t, job } = await tenantWithJob({ leaseSeconds: 10, maxAttempts: 2 });
    for (let i = 0; i < 2; i++) {
      expect(await claim(t)).not.toBeNull();
      await h.deps.db
        .update(retrainingJobs)
        .set({ leaseExpiresAt: Date.now() - 1 })
        .where(eq(retrainingJobs.id, job.id));
    }
    const report = await schedulerTick(h.deps, { now: Date.now() });
    expect(report.failedJobs).toContain(job.id);
    expect(await claim(t)).toBeNull();
    const { jobs } = await json<{ jobs: { id: string; state: string; failureReason: string }[] }>(
      h.request("/v1/retraining/jobs", { token: t.ownerToken }),
    );
    expect(jobs[0]).toMatchObject({ id: job.id, state: "failed" });
    expect(jobs[0]!.failureReason).toMatch(/lease expired on attempt 2 of 2/);
    expect((await actions(t.tenantId)).at(-1)).toBe("retraining.fail");
  });

  it("a worker's failure report ends the job with its reason", async () => {
    const { t, job } = await tenantWithJob();
    const c = (await claim(t))!;
    const failed = retrainingJobSchema.parse(
      await json(
        send("POST", `/v1/retraining/jobs/${job.id}/fail`, t.ownerToken, {
          leaseToken: c.leaseToken,
          reason: "data source unreachable",
        }),
      ),
    );
    expect(failed).toMatchObject({ state: "failed", failureReason: "data source unreachable" });
    expect(await claim(t)).toBeNull();
  });

  it("one job at a time, and none without a data source", async () => {
    const t = await h.newTenant();
    const noSource = await expectError(
      await send("POST", "/v1/retraining/jobs", t.ownerToken, {}),
      409,
      "CONFLICT",
    );
    expect(noSource.error.message).toMatch(/no data source/);
    await json(
      send("PUT", "/v1/retraining/policy", t.ownerToken, { dataSource: "https://data.example.test/c.csv" }),
    );
    await json(send("POST", "/v1/retraining/jobs", t.ownerToken, {}), 201);
    await expectError(await send("POST", "/v1/retraining/jobs", t.ownerToken, {}), 409, "CONFLICT");
  });

  it("refuses bad input with the envelope and names the field", async () => {
    const t = await h.newTenant();
    const bad = await expectError(
      await send("PUT", "/v1/retraining/policy", t.ownerToken, { trigger: "sometimes", canaryWeight: 0 }),
      400,
      "INVALID_REQUEST",
    );
    expect(bad.error.issues?.map((i) => i.path)).toEqual(expect.arrayContaining(["trigger", "canaryWeight"]));
    await expectError(
      await send("POST", "/v1/retraining/jobs/claim", t.ownerToken, {}),
      400,
      "INVALID_REQUEST",
    );
    const { job } = await tenantWithJob();
    await expectError(
      await send("POST", `/v1/retraining/jobs/${job.id}/complete`, t.ownerToken, { leaseToken: "x" }),
      400,
      "INVALID_REQUEST",
    );
  });

  it("another tenant's job, candidate and webhook ids are 404", async () => {
    const { t, job } = await tenantWithJob();
    const c = (await claim(t))!;
    const other = await h.newTenant();
    for (const path of [
      `/v1/retraining/jobs/${job.id}/records`,
      `/v1/retraining/jobs/${job.id}/production-model`,
    ]) {
      await expectError(await h.request(path, { token: other.ownerToken }), 404, "NOT_FOUND");
    }
    await expectError(
      await send("POST", `/v1/retraining/jobs/${job.id}/heartbeat`, other.ownerToken, {
        leaseToken: c.leaseToken,
      }),
      404,
      "NOT_FOUND",
    );
    await expectError(
      await send("POST", "/v1/candidates/cnd_unknown000000000000/promote", other.ownerToken),
      404,
      "NOT_FOUND",
    );
  });

  it("requires authentication", async () => {
    await expectAuthRequired(h, "GET", "/v1/retraining/jobs");
    await expectAuthRequired(h, "POST", "/v1/retraining/jobs/claim", () => ({
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ worker: "probe" }),
    }));
  });
});

describe("candidates", () => {
  it("a rejected candidate is recorded with its reason and production stays", async () => {
    const { t, production, candidate } = await tenantWithJob({ gate: { metric: "auc", margin: 0.02 } });
    const before = await json<{ revision: number }>(h.request("/v1/deployment", { token: t.ownerToken }));
    const c = (await claim(t))!;
    const rejected = candidateSchema.parse(await json(complete(t, c, candidate.id, holdout(0.81))));
    expect(rejected.state).toBe("rejected");
    expect(rejected.reason).toMatch(/improvement 0\.0100 is below the margin 0\.02/);
    const after = await json<{ revision: number; production: { versionId: string }; canary: null }>(
      h.request("/v1/deployment", { token: t.ownerToken }),
    );
    expect(after).toMatchObject({
      revision: before.revision,
      production: { versionId: production.id },
      canary: null,
    });
    expect((await actions(t.tenantId)).slice(-2)).toEqual(["retraining.complete", "candidate.reject"]);
  });

  it("a candidate judged against a production that has since changed is rejected", async () => {
    const { t, candidate } = await tenantWithJob();
    const c = (await claim(t))!;
    await t.deploy(candidate.id);
    const rejected = candidateSchema.parse(await json(complete(t, c, candidate.id)));
    expect(rejected.reason).toMatch(/production changed while the job ran/);
  });

  it("passes to canary at the policy's weight, then waits for manual approval", async () => {
    const { t, production, candidate } = await tenantWithJob({
      canaryWeight: 20,
      promotion: { mode: "manual" },
    });
    const c = (await claim(t))!;
    const canary = candidateSchema.parse(await json(complete(t, c, candidate.id)));
    expect(canary).toMatchObject({ state: "canary", canaryWeight: 20, promotion: "manual" });
    const deployed = await json<{
      production: { versionId: string };
      canary: { versionId: string; weight: number };
    }>(h.request("/v1/deployment", { token: t.ownerToken }));
    expect(deployed).toMatchObject({
      production: { versionId: production.id },
      canary: { versionId: candidate.id, weight: 20 },
    });
    // Manual promotion: the scheduler leaves it, however many predictions it made.
    await addPredictions(t.tenantId, candidate.id, "canary", 50, 0.5);
    expect((await schedulerTick(h.deps, {})).candidates).toEqual([]);
    // An analyst may not approve; an ml-engineer may.
    await expectError(
      await send("POST", `/v1/candidates/${canary.id}/promote`, await t.tokenFor("analyst")),
      403,
      "FORBIDDEN",
    );
    const promoted = candidateSchema.parse(
      await json(send("POST", `/v1/candidates/${canary.id}/promote`, await t.tokenFor("ml-engineer"))),
    );
    expect(promoted.state).toBe("promoted");
    const now = await json<{ production: { versionId: string }; canary: null }>(
      h.request("/v1/deployment", { token: t.ownerToken }),
    );
    expect(now).toMatchObject({ production: { versionId: candidate.id }, canary: null });
    await expectError(
      await send("POST", `/v1/candidates/${canary.id}/promote`, t.ownerToken),
      409,
      "CONFLICT",
    );
    const trail = await actions(t.tenantId);
    expect(trail.slice(-2)).toEqual(["candidate.promote", "deployment.update"]);
  });

  it("automatic promotion waits for enough canary predictions, and takes out a canary estimated worse", async () => {
    const { t, production, candidate } = await tenantWithJob({
      canaryWeight: 50,
      promotion: { mode: "auto", minPredictions: 40, tolerance: 0.01 },
    });
    const c = (await claim(t))!;
    const canary = candidateSchema.parse(await json(complete(t, c, candidate.id)));
    await addPredictions(t.tenantId, candidate.id, "canary", 30, 0.5);
    await addPredictions(t.tenantId, production.id, "production", 30, 0.9);
    expect((await schedulerTick(h.deps, {})).candidates).toEqual([]);
    // Ten more: 40 canary predictions, all near 0.5 (no confidence), against a confident production.
    await addPredictions(t.tenantId, candidate.id, "canary", 10, 0.5);
    const report = await schedulerTick(h.deps, {});
    expect(report.candidates).toMatchObject([{ id: canary.id, state: "rolled_back" }]);
    expect((report.candidates[0] as Candidate).reason).toMatch(
      /40 canary predictions: estimated AUC .* below production's/,
    );
    const now = await json<{ production: { versionId: string }; canary: null }>(
      h.request("/v1/deployment", { token: t.ownerToken }),
    );
    expect(now).toMatchObject({ production: { versionId: production.id }, canary: null });
    expect((await actions(t.tenantId)).slice(-2)).toEqual(["candidate.reject", "deployment.update"]);
  });

  it("a canary removed by hand is closed as rolled back", async () => {
    const { t, production, candidate } = await tenantWithJob();
    const c = (await claim(t))!;
    const canary = candidateSchema.parse(await json(complete(t, c, candidate.id)));
    await t.deploy(production.id);
    const report = await schedulerTick(h.deps, {});
    expect(report.candidates).toMatchObject([
      { id: canary.id, state: "rolled_back", reason: "canary removed from the deployment" },
    ]);
  });
});

/**
 * Predictions as the ingest path stores them: `n` of the version, with probabilities spread around `p`
 * (a confident model spreads towards 0 and 1, an unsure one stays near 0.5).
 */
async function addPredictions(
  tenantId: string,
  versionId: string,
  variant: "production" | "canary",
  n: number,
  spread: number,
) {
  const now = Date.now();
  const rows = Array.from({ length: n }, (_, i) => {
    const side = i % 2 === 0 ? 1 : -1;
    const p = 0.5 + (side * (spread - 0.5) * ((i % 5) + 1)) / 5;
    return {
      tenantId,
      predictionId: `prd_${versionId.slice(3, 11)}${variant[0]}${String(i).padStart(6, "0")}${Math.random().toString(36).slice(2, 8)}`,
      customerId: null,
      versionId,
      variant,
      probability: Math.min(0.999, Math.max(0.001, p)),
      contact: p >= 0.5,
      predictedAt: now,
    };
  });
  await h.deps.db.insert(predictions).values(rows);
}
