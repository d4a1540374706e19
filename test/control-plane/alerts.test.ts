import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { alertListSchema, alertRulesResponseSchema } from "#shared/alerts.ts";
import { evaluateAlerts, ruleValues } from "../../control-plane/src/modules/alerts/evaluate.ts";
import { auditLog, retrainingJobs } from "../../control-plane/src/platform/db/schema/index.ts";
import {
  type ControlPlaneHarness,
  expectAuthRequired,
  expectError,
  startControlPlane,
  type TestTenant,
} from "../helpers/control-plane-harness.ts";
import { snapshotWith } from "../helpers/monitoring-snapshot.ts";

let h: ControlPlaneHarness;
beforeAll(async () => {
  h = await startControlPlane({ SCHEDULER_INTERVAL_SECONDS: "0" });
});
afterAll(() => h?.close());

const put = (path: string, token: string, body: unknown) =>
  h.request(path, {
    method: "PUT",
    token,
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });

async function actions(t: TestTenant): Promise<string[]> {
  const rows = await h.deps.db
    .select({ action: auditLog.action })
    .from(auditLog)
    .where(eq(auditLog.tenantId, t.tenantId))
    .orderBy(auditLog.seq);
  return rows.map((r) => r.action);
}

describe("alert rules", () => {
  it("defaults until set; a PUT replaces them, null switches a rule off, and is audited", async () => {
    const t = await h.newTenant();
    const defaults = alertRulesResponseSchema.parse(
      await (await h.request("/v1/alerts/rules", { token: t.ownerToken })).json(),
    );
    expect(defaults).toEqual({
      driftScore: 0.25,
      estimatedAucDrop: 0.05,
      dataQualityRate: 0.05,
      updatedAt: null,
    });
    const res = await put("/v1/alerts/rules", t.ownerToken, { driftScore: 0.2, dataQualityRate: null });
    expect(res.status).toBe(200);
    const saved = alertRulesResponseSchema.parse(await res.json());
    expect(saved).toMatchObject({ driftScore: 0.2, estimatedAucDrop: 0.05, dataQualityRate: null });
    expect((await actions(t)).at(-1)).toBe("alert_rule.update");
  });

  it("refuses out-of-range thresholds naming the field; an ml-engineer may read but not change them", async () => {
    const t = await h.newTenant();
    const bad = await expectError(
      await put("/v1/alerts/rules", t.ownerToken, { driftScore: -1, estimatedAucDrop: 2 }),
      400,
      "INVALID_REQUEST",
    );
    expect(bad.error.issues?.map((i) => i.path).sort()).toEqual(["driftScore", "estimatedAucDrop"]);
    const engineer = await t.tokenFor("ml-engineer");
    expect((await h.request("/v1/alerts/rules", { token: engineer })).status).toBe(200);
    await expectError(await put("/v1/alerts/rules", engineer, { driftScore: 0.3 }), 403, "FORBIDDEN");
  });

  it("requires authentication", async () => {
    await expectAuthRequired(h, "GET", "/v1/alerts");
  });
});

describe("alert episodes", () => {
  it("fires once per episode, keeps the latest value while it holds, resolves when it clears", async () => {
    const t = await h.newTenant();
    const { db } = h.deps;
    const now = Date.now();
    expect(await evaluateAlerts(db, t.tenantId, snapshotWith(t.tenantId, { drift: 0.1 }), now)).toEqual([]);

    const fired = await evaluateAlerts(db, t.tenantId, snapshotWith(t.tenantId, { drift: 0.4 }), now + 1);
    expect(fired).toHaveLength(1);
    expect(fired[0]).toMatchObject({
      event: "alert.fire",
      alert: { kind: "drift_score", value: 0.4, threshold: 0.25 },
    });

    // Still drifting (and a quiet window in between): no new alert.
    expect(await evaluateAlerts(db, t.tenantId, snapshotWith(t.tenantId, { drift: 0.5 }), now + 2)).toEqual(
      [],
    );
    expect(await evaluateAlerts(db, t.tenantId, snapshotWith(t.tenantId, { records: 10 }), now + 3)).toEqual(
      [],
    );
    const listed = alertListSchema.parse(
      await (await h.request("/v1/alerts?state=firing", { token: t.ownerToken })).json(),
    );
    expect(listed.alerts).toMatchObject([{ id: fired[0]!.alert.id, value: 0.4, lastValue: 0.5 }]);

    const resolved = await evaluateAlerts(db, t.tenantId, snapshotWith(t.tenantId, { drift: 0.05 }), now + 4);
    expect(resolved).toMatchObject([
      { event: "alert.resolve", alert: { id: fired[0]!.alert.id, state: "resolved" } },
    ]);
    // A new episode is a new alert.
    const again = await evaluateAlerts(db, t.tenantId, snapshotWith(t.tenantId, { drift: 0.3 }), now + 5);
    expect(again[0]!.alert.id).not.toBe(fired[0]!.alert.id);
    expect((await actions(t)).filter((a) => a.startsWith("alert."))).toEqual([
      "alert.fire",
      "alert.resolve",
      "alert.fire",
    ]);
  });

  it("reads the estimated-AUC drop against the training AUC and the worst data-quality rate", () => {
    const values = ruleValues(
      snapshotWith("t", {
        estimatedAuc: 0.7,
        trainingAuc: 0.85,
        schemaViolationRate: 0.02,
        outOfRangeRate: 0.08,
      }),
    );
    expect(values.estimated_auc_drop).toBeCloseTo(0.15, 10);
    expect(values.data_quality).toBe(0.08);
    expect(ruleValues(snapshotWith("t", { trainingAuc: null })).estimated_auc_drop).toBeNull();
    expect(ruleValues(snapshotWith("t", { records: 100 }))).toEqual({
      drift_score: null,
      estimated_auc_drop: null,
      data_quality: null,
    });
  });

  it("a rule switched off resolves its open alert", async () => {
    const t = await h.newTenant();
    const now = Date.now();
    await evaluateAlerts(h.deps.db, t.tenantId, snapshotWith(t.tenantId, { outOfRangeRate: 0.2 }), now);
    expect((await put("/v1/alerts/rules", t.ownerToken, { dataQualityRate: null })).status).toBe(200);
    const after = await evaluateAlerts(
      h.deps.db,
      t.tenantId,
      snapshotWith(t.tenantId, { outOfRangeRate: 0.2 }),
      now + 1,
    );
    expect(after).toMatchObject([{ event: "alert.resolve", alert: { kind: "data_quality" } }]);
  });

  it("under an `alert` retraining policy, firing requests one job in the same step", async () => {
    const t = await h.newTenant();
    expect(
      (await put("/v1/retraining/policy", t.ownerToken, { trigger: "alert", dataSource: "customers.csv" }))
        .status,
    ).toBe(200);
    const now = Date.now();
    const fired = await evaluateAlerts(
      h.deps.db,
      t.tenantId,
      snapshotWith(t.tenantId, { drift: 0.4, estimatedAuc: 0.6 }),
      now,
    );
    expect(fired.map((f) => f.alert.kind).sort()).toEqual(["drift_score", "estimated_auc_drop"]);
    // Two alerts, one job: a tenant retrains one job at a time.
    const jobs = await h.deps.db.select().from(retrainingJobs).where(eq(retrainingJobs.tenantId, t.tenantId));
    expect(jobs).toHaveLength(1);
    expect(jobs[0]).toMatchObject({ trigger: "alert", state: "queued", alertId: fired[0]!.alert.id });
    expect(fired[0]!.jobId).toBe(jobs[0]!.id);
    const trail = await actions(t);
    expect(trail.slice(trail.indexOf("alert.fire"))).toEqual([
      "alert.fire",
      "retraining.request",
      "alert.fire",
    ]);
  });
});
