import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { retrainingPolicySchema } from "#shared/retraining.ts";
import { listen, type RunningServer } from "../../control-plane/src/control-plane.ts";
import { claimJob, requestJob } from "../../control-plane/src/modules/retraining/jobs.ts";
import { putRetrainingPolicy } from "../../control-plane/src/modules/retraining/policy.ts";
import { retrainingJobs } from "../../control-plane/src/platform/db/schema/index.ts";
import { main } from "../../trainer/src/cli/main.ts";
import { toCsv } from "../../trainer/src/data/csv-writer.ts";
import { generateTelco, SCENARIOS, TELCO_COLUMNS } from "../../trainer/src/data/synthetic.ts";
import { RetrainingClient } from "../../trainer/src/remote/retraining-client.ts";
import {
  alignTo,
  assembleTrainingSet,
  labeledRows,
  negativeValue,
  type Table,
} from "../../trainer/src/worker/data.ts";
import { runJob } from "../../trainer/src/worker/worker.ts";
import { type ControlPlaneHarness, startControlPlane } from "../helpers/control-plane-harness.ts";

const table: Table = {
  header: ["id", "tenure", "Contract", "Churn"],
  rows: [
    ["a", "1", "Month-to-month", "Yes"],
    ["b", "40", "Two year", "No"],
    ["c", "3", "Month-to-month", "Yes"],
    ["d", "60", "One year", "No"],
    ["e", "12", "One year", "No"],
  ],
};

function run(args: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  return main(args, { out: (t) => out.push(t), err: (t) => err.push(t) }).then((code) => ({
    code,
    out: out.join(""),
    err: err.join(""),
  }));
}

describe("worker data", () => {
  it("lays feedback-labeled records on the data source's columns, with its target values", () => {
    const negative = negativeValue(table, "Churn", "Yes");
    expect(negative).toBe("No");
    const rows = labeledRows(
      {
        records: [
          { record: { tenure: 5, Contract: "Month-to-month", extra: "dropped" }, churned: true },
          { record: { tenure: null, Contract: "Two year" }, churned: false },
        ],
      },
      table.header,
      "Churn",
      "Yes",
      negative,
    );
    expect(rows).toEqual([
      ["", "5", "Month-to-month", "Yes"],
      ["", "", "Two year", "No"],
    ]);
  });

  it("appends a fixed holdout after the training rows, aligned by column name", () => {
    const holdout: Table = { header: ["Churn", "tenure", "Contract"], rows: [["No", "7", "One year"]] };
    expect(alignTo(holdout, table.header)).toEqual([["", "7", "One year", "No"]]);
    const set = assembleTrainingSet(table, holdout, "Churn", "Yes", 1);
    expect(set.split).toEqual({ train: [0, 1, 2, 3, 4], test: [5] });
    expect(set.holdoutLabels).toEqual([0]);
    expect(set.table.rows).toHaveLength(6);
  });

  it("without a fixed holdout, holds out a seeded stratified fifth", () => {
    const rows = generateTelco(500, 3).map((r) => [r.tenure, r.Churn]);
    const big: Table = { header: ["tenure", "Churn"], rows };
    const a = assembleTrainingSet(big, null, "Churn", "Yes", 9);
    const b = assembleTrainingSet(big, null, "Churn", "Yes", 9);
    expect(a.split).toEqual(b.split);
    expect(a.split.test).toHaveLength(100);
    const positives = rows.filter((r) => r[1] === "Yes").length;
    expect(a.holdoutLabels.reduce((x, y) => x + y, 0)).toBe(Math.round(positives * 0.2));
  });

  it("refuses a data source without the target or without a negative row", () => {
    expect(() => negativeValue(table, "Target", "Yes")).toThrow(/no target column "Target"/);
    const allYes: Table = { header: ["Churn"], rows: [["Yes"], ["Yes"]] };
    expect(() => negativeValue(allYes, "Churn", "Yes")).toThrow(/Every row/);
  });
});

describe("synthetic drift scenarios", () => {
  const mean = (rows: ReturnType<typeof generateTelco>, f: (r: (typeof rows)[number]) => number) =>
    rows.reduce((s, r) => s + f(r), 0) / rows.length;
  const base = generateTelco(3000, 21);

  it("leaves the base generator unchanged and shifts what each scenario names", () => {
    // The scenarios draw extra random numbers only when asked: a seed's base data stays as it was.
    expect(generateTelco(3000, 21)).toEqual(base);
    const rise = generateTelco(3000, 21, "price-rise");
    const internet = (r: (typeof base)[number]) => r.InternetService !== "No";
    const charge = (rows: typeof base) => mean(rows.filter(internet), (r) => Number(r.MonthlyCharges));
    expect(charge(rise) / charge(base)).toBeGreaterThan(1.2);
    const mix = generateTelco(3000, 21, "contract-mix");
    const share = (rows: typeof base) => mean(rows, (r) => (r.Contract === "Month-to-month" ? 1 : 0));
    expect(share(mix) - share(base)).toBeGreaterThan(0.15);
    const wallet = generateTelco(3000, 21, "new-payment-method");
    expect(base.some((r) => r.PaymentMethod === "Digital wallet")).toBe(false);
    expect(mean(wallet, (r) => (r.PaymentMethod === "Digital wallet" ? 1 : 0))).toBeGreaterThan(0.25);
  });

  it("churn responds: price-hit long-standing customers churn more than their like in the base data", () => {
    const churn = (rows: typeof base) =>
      mean(
        rows.filter((r) => Number(r.tenure) >= 24 && r.InternetService !== "No"),
        (r) => (r.Churn === "Yes" ? 1 : 0),
      );
    expect(churn(generateTelco(3000, 21, "price-rise"))).toBeGreaterThan(churn(base) + 0.1);
    const wallet = generateTelco(3000, 21, "new-payment-method");
    const rate = (m: string) =>
      mean(
        wallet.filter((r) => r.PaymentMethod === m),
        (r) => (r.Churn === "Yes" ? 1 : 0),
      );
    expect(rate("Digital wallet")).toBeGreaterThan(rate("Mailed check"));
  });

  it("churn synth --scenario writes the scenario and refuses an unknown one", async () => {
    const bad = await run(["synth", "--out", "/dev/null", "--scenario", "recession"]);
    expect(bad.code).toBe(2);
    expect(bad.err).toContain(`--scenario must be one of ${SCENARIOS.join(", ")}`);
  });
});

describe("churn worker (CLI)", () => {
  it("exits 2 naming a bad flag", async () => {
    const res = await run([
      "worker",
      "--control-plane",
      "http://127.0.0.1:9",
      "--token",
      "t",
      "--poll",
      "soon",
    ]);
    expect(res.code).toBe(2);
    expect(res.err).toContain('--poll must be a positive number of seconds, got "soon"');
  });

  it("exits 1 with a clear message when the control plane is unreachable", async () => {
    const res = await run(["worker", "--control-plane", "http://127.0.0.1:9", "--token", "t", "--once"]);
    expect(res.code).toBe(1);
    expect(res.err).toMatch(/error \[UNAVAILABLE\]: Control plane unreachable at http:\/\/127\.0\.0\.1:9/);
  });
});

describe("runJob against a real control plane", () => {
  let h: ControlPlaneHarness;
  let server: RunningServer;
  let dir: string;
  beforeAll(async () => {
    h = await startControlPlane({ SCHEDULER_INTERVAL_SECONDS: "0" });
    server = await listen(h.app, "127.0.0.1", 0);
    dir = await mkdtemp(join(tmpdir(), "churn-worker-test-"));
  });
  afterAll(async () => {
    await server?.close();
    await h?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("a worker whose lease was taken over stops at its report: lease-lost, no failure recorded, the job stays with the new holder", async () => {
    const t = await h.newTenant();
    const production = await t.publish(await h.fixture(7));
    await t.deploy(production.id);
    const data = join(dir, "customers.csv");
    await writeFile(data, toCsv(generateTelco(600, 4), TELCO_COLUMNS));
    const policy = retrainingPolicySchema.parse({ dataSource: data, timeBudgetSeconds: 1, leaseSeconds: 10 });
    const audit = {
      actor: { type: "system" as const, id: "test" },
      requestId: null,
      ip: null,
      userAgent: null,
    };
    await putRetrainingPolicy(h.deps.db, audit, t.tenantId, policy);
    await requestJob(h.deps.db, audit, t.tenantId, "lease test");
    const stale = (await claimJob(h.deps.db, audit, t.tenantId, "stale"))!;
    // Its lease runs out and another worker takes the job over before the first one reports.
    const later = Date.now() + 11_000;
    const current = (await claimJob(h.deps.db, audit, t.tenantId, "current", later))!;
    expect(current.job.id).toBe(stale.job.id);

    const client = new RetrainingClient({ url: server.url, token: t.ownerToken });
    const lines: string[] = [];
    const outcome = await runJob(client, stale, {}, (l) => lines.push(l));
    expect(outcome.status).toBe("lease-lost");
    const [job] = await h.deps.db.select().from(retrainingJobs).where(eq(retrainingJobs.id, stale.job.id));
    expect(job).toMatchObject({ state: "running", worker: "current", failureReason: null, attempts: 2 });
  });
});
