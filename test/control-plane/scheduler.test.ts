import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { retrainingJobs } from "../../control-plane/src/platform/db/schema/index.ts";
import { schedulerTick, startScheduler } from "../../control-plane/src/platform/scheduler/tick.ts";
import {
  type ControlPlaneHarness,
  type Fixture,
  startControlPlane,
  type TestTenant,
} from "../helpers/control-plane-harness.ts";

let h: ControlPlaneHarness;
let m1: Fixture;
beforeAll(async () => {
  h = await startControlPlane({ SCHEDULER_INTERVAL_SECONDS: "0" });
  m1 = await h.fixture(7);
});
afterAll(() => h?.close());

const HOUR = 3_600_000;

async function setPolicy(t: TestTenant, policy: Record<string, unknown>) {
  const res = await h.request("/v1/retraining/policy", {
    method: "PUT",
    token: t.ownerToken,
    headers: { "content-type": "application/json" },
    body: JSON.stringify(policy),
  });
  expect(res.status, await res.clone().text()).toBe(200);
}

const jobsOf = (t: TestTenant) =>
  h.deps.db.select().from(retrainingJobs).where(eq(retrainingJobs.tenantId, t.tenantId));

describe("scheduler tick", () => {
  it("queues a scheduled job every N hours from the policy's start, never two open at once", async () => {
    const t = await h.newTenant();
    await t.deploy((await t.publish(m1)).id);
    const start = Date.now();
    await setPolicy(t, { trigger: "schedule", everyHours: 6, dataSource: "customers.csv" });

    let report = await schedulerTick(h.deps, { now: start + 5 * HOUR });
    expect(report.errors).toEqual([]);
    expect(await jobsOf(t)).toHaveLength(0);

    report = await schedulerTick(h.deps, { now: start + 6 * HOUR + 1000 });
    const jobs = await jobsOf(t);
    expect(jobs).toHaveLength(1);
    expect(jobs[0]).toMatchObject({ trigger: "schedule", state: "queued", reason: "every 6 h" });
    expect(report.scheduledJobs).toContain(jobs[0]!.id);

    // Six hours later the first job is still queued: the slot passes without a second one.
    await schedulerTick(h.deps, { now: start + 12 * HOUR + 2000 });
    expect(await jobsOf(t)).toHaveLength(1);
    // Once it is done, the next interval queues again.
    await h.deps.db.update(retrainingJobs).set({ state: "failed" }).where(eq(retrainingJobs.id, jobs[0]!.id));
    await schedulerTick(h.deps, { now: start + 18 * HOUR + 3000 });
    expect(await jobsOf(t)).toHaveLength(2);
  });

  it("a manual or alert policy is never scheduled", async () => {
    const t = await h.newTenant();
    await setPolicy(t, { trigger: "alert", everyHours: 1, dataSource: "customers.csv" });
    await schedulerTick(h.deps, { now: Date.now() + 48 * HOUR });
    expect(await jobsOf(t)).toHaveLength(0);
  });

  it("runs on an unref'd interval, one tick at a time, and stops", async () => {
    const scheduler = startScheduler(h.deps, 60_000);
    try {
      const [a, b] = await Promise.all([scheduler.tickNow(), scheduler.tickNow()]);
      expect(a.errors).toEqual([]);
      expect(b.errors).toEqual([]);
    } finally {
      scheduler.stop();
    }
  });
});
