import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { experimentRunListSchema } from "#shared/experiments.ts";
import { modelVersionSchema, publishResponseSchema } from "#shared/registry.ts";
import { experimentRuns } from "../../control-plane/src/platform/db/schema/index.ts";
import {
  type ControlPlaneHarness,
  expectAuthRequired,
  expectError,
  type Fixture,
  publishForm,
  startControlPlane,
  type TestTenant,
} from "../helpers/control-plane-harness.ts";

let h: ControlPlaneHarness;
let m1: Fixture;
let m2: Fixture;
beforeAll(async () => {
  h = await startControlPlane();
  [m1, m2] = await Promise.all([h.fixture(7), h.fixture(8)]);
});
afterAll(() => h?.close());

async function list(token: string, name = "churn") {
  const res = await h.request(`/v1/models/${name}/versions`, { token });
  return { res, body: (await res.json()) as { versions: unknown[] } };
}

describe("GET /v1/models/{name}/versions: happy", () => {
  it("lists a model's versions newest first, exactly as published", async () => {
    const t = await h.newTenant();
    const v1 = await t.publish(m1);
    const v2 = await t.publish(m2);
    const { res, body } = await list(t.ownerToken);
    expect(res.status).toBe(200);
    const versions = body.versions.map((v) => modelVersionSchema.parse(v));
    expect(versions.map((v) => v.version)).toEqual([2, 1]);
    expect(versions).toEqual([v2, v1]);
  });

  it("lists only the named model", async () => {
    const t = await h.newTenant();
    const churn = await t.publish(m1, "churn");
    const other = await t.publish(m2, "upsell");
    const a = await list(t.ownerToken, "churn");
    const b = await list(t.ownerToken, "upsell");
    expect(a.body.versions).toEqual([churn]);
    expect(b.body.versions).toEqual([other]);
  });

  it("serves metadata only, never the model bytes", async () => {
    const t = await h.newTenant();
    await t.publish(m1);
    const { body } = await list(t.ownerToken);
    const v = body.versions[0] as Record<string, unknown>;
    expect(Object.keys(v).sort()).toEqual(
      [
        "bytes",
        "createdAt",
        "hasReport",
        "id",
        "manifest",
        "modelId",
        "name",
        "publishedBy",
        "sha256",
        "version",
      ].sort(),
    );
    expect(typeof v["bytes"]).toBe("number");
    expect(v["hasReport"]).toBe(false); // a flag, never the report itself
  });

  it("is readable by every reader: admin, ml-engineer, analyst and clients with a read-implying scope", async () => {
    const t = await h.newTenant();
    const v = await t.publish(m1);
    const tokens: [string, string][] = [
      ["admin", await t.tokenFor("admin")],
      ["ml-engineer", await t.tokenFor("ml-engineer")],
      ["analyst", await t.tokenFor("analyst")],
      ["models:read", await t.clientToken(["models:read"])],
      ["models:publish", await t.clientToken(["models:publish"])],
      ["deployments:write", await t.clientToken(["deployments:write"])],
    ];
    for (const [who, token] of tokens) {
      const { res, body } = await list(token);
      expect(res.status, who).toBe(200);
      expect(body.versions, who).toEqual([v]);
    }
  });
});

describe("GET /v1/models/{name}/versions: error", () => {
  it("answers 404 NOT_FOUND naming an unknown model", async () => {
    const t = await h.newTenant();
    const body = await expectError(
      await h.request("/v1/models/never-published/versions", { token: t.ownerToken }),
      404,
      "NOT_FOUND",
    );
    expect(body.error.message).toContain("never-published");
  });

  it("refuses a model name longer than 64 characters with 400 naming the parameter", async () => {
    const t = await h.newTenant();
    const body = await expectError(
      await h.request(`/v1/models/${"a".repeat(65)}/versions`, { token: t.ownerToken }),
      400,
      "INVALID_REQUEST",
    );
    expect(body.error.issues?.map((i) => i.path).join(" ")).toContain("name");
  });

  it("treats names that cannot exist as unknown (404), including encoded path tricks", async () => {
    const t = await h.newTenant();
    for (const name of ["Churn", "churn%00", "..%2F..%2Fdeployment", "%27%20or%201%3D1--"]) {
      const res = await h.request(`/v1/models/${name}/versions`, { token: t.ownerToken });
      await expectError(res, 404, "NOT_FOUND");
    }
  });

  it("does not route other methods or sub-paths (404 envelope)", async () => {
    const t = await h.newTenant();
    for (const [method, path] of [
      ["DELETE", "/v1/models/churn/versions"],
      ["GET", "/v1/models/churn"],
      ["GET", "/v1/models/churn/versions/1"],
    ] as const) {
      await expectError(await h.request(path, { method, token: t.ownerToken }), 404, "NOT_FOUND");
    }
  });
});

describe("GET /v1/models/{name}/versions: security", () => {
  it("requires a valid token (missing, garbage, expired, wrong audience, foreign key → 401)", async () => {
    await expectAuthRequired(h, "GET", "/v1/models/churn/versions");
  });

  it("forbids auditors (403 FORBIDDEN) and clients without a read scope (403 INSUFFICIENT_SCOPE)", async () => {
    const t = await h.newTenant();
    await t.publish(m1);
    const auditor = await h.request("/v1/models/churn/versions", { token: await t.tokenFor("auditor") });
    const body = await expectError(auditor, 403, "FORBIDDEN");
    expect(body.error.message).toContain("models:read");
    for (const scopes of [["predict"], ["feedback:write"], []] as const) {
      const res = await h.request("/v1/models/churn/versions", { token: await t.clientToken([...scopes]) });
      await expectError(res, 403, "INSUFFICIENT_SCOPE");
    }
  });

  it("hides another tenant's model behind the same 404 as a missing one, with none of its data", async () => {
    const a = await h.newTenant("A");
    const b = await h.newTenant("B");
    const va = await a.publish(m1, "secret-model");
    for (const token of [b.ownerToken, await b.clientToken(["models:read"])]) {
      const res = await h.request("/v1/models/secret-model/versions", { token });
      const text = await res.clone().text();
      const body = await expectError(res, 404, "NOT_FOUND");
      expect(body.error.message).toBe("Model 'secret-model' not found");
      for (const leak of [a.tenantId, va.id, va.modelId, va.sha256]) expect(text).not.toContain(leak);
    }
  });
});

// ---------------------------------------------------------------------------------------------------------
// Experiment runs: published with a version, listed per version

const RUNS = [
  {
    family: "logistic_regression",
    params: { l2: 0.1 },
    cvMetrics: { auc: 0.81, logLoss: 0.45 },
    seconds: 1.5,
  },
  {
    family: "gbdt",
    params: { trees: 200, depth: 4, nested: { lr: 0.05 } },
    cvMetrics: { auc: 0.84 },
    seconds: 12,
  },
];

function publishWithRuns(t: TestTenant, runs: unknown, token = t.ownerToken) {
  const form = publishForm(m1.manifestText, m1.bytes, m1.explainer);
  form.set("runs", typeof runs === "string" ? runs : JSON.stringify(runs));
  return h.request("/v1/models/churn/versions", { method: "POST", token, body: form });
}

const runsOf = (token: string, path = "/v1/models/churn/versions/1/runs") => h.request(path, { token });

describe("POST /v1/models/{name}/versions with runs", () => {
  it("happy: stores the runs with the version it creates, and not again for an idempotent re-publish", async () => {
    const t = await h.newTenant();
    const res = await publishWithRuns(t, RUNS);
    expect(res.status).toBe(201);
    const { version } = publishResponseSchema.parse(await res.json());
    const again = await publishWithRuns(t, [...RUNS, ...RUNS]);
    expect(again.status).toBe(200);
    const rows = await h.deps.db.select().from(experimentRuns).where(eq(experimentRuns.tenantId, t.tenantId));
    expect(rows).toHaveLength(2);
    expect(rows.every((r) => r.modelVersionId === version.id)).toBe(true);
  });

  it("error: refuses runs that are not JSON, not valid, or more than 500, naming the field; stores nothing", async () => {
    const t = await h.newTenant();
    const notJson = await expectError(await publishWithRuns(t, "[{"), 400, "INVALID_REQUEST");
    expect(notJson.error.issues?.[0]?.path).toBe("runs");
    for (const [runs, field] of [
      [[{ ...RUNS[0], family: "Bad Family" }], "runs.0.family"],
      [[{ ...RUNS[0], cvMetrics: { auc: "high" } }], "runs.0.cvMetrics.auc"],
      [[{ ...RUNS[0], seconds: -1 }], "runs.0.seconds"],
      [[{ family: "gbdt" }], "runs.0.params"],
      [{ family: "gbdt" }, "runs"],
      [Array.from({ length: 501 }, () => RUNS[0]), "runs"],
    ] as const) {
      const err = await expectError(await publishWithRuns(t, runs), 400, "INVALID_REQUEST");
      expect(
        err.error.issues?.map((i) => i.path),
        field,
      ).toContain(field);
    }
    const rows = await h.deps.db.select().from(experimentRuns).where(eq(experimentRuns.tenantId, t.tenantId));
    expect(rows).toEqual([]);
    await expectError(await runsOf(t.ownerToken), 404, "NOT_FOUND");
  });
});

describe("GET /v1/models/{name}/versions/{version}/runs", () => {
  it("happy: lists the runs in the order reported, to every reader", async () => {
    const t = await h.newTenant();
    expect((await publishWithRuns(t, RUNS)).status).toBe(201);
    for (const token of [await t.tokenFor("analyst"), await t.clientToken(["models:read"])]) {
      const res = await runsOf(token);
      expect(res.status).toBe(200);
      const { runs } = experimentRunListSchema.parse(await res.json());
      expect(
        runs.map(({ family, params, cvMetrics, seconds }) => ({ family, params, cvMetrics, seconds })),
      ).toEqual(RUNS);
      expect(runs[0]!.id).toMatch(/^run_[0-9a-z]{20}$/);
    }
    const without = await h.newTenant();
    await without.publish(m1);
    expect(experimentRunListSchema.parse(await (await runsOf(without.ownerToken)).json()).runs).toEqual([]);
  });

  it("error: an unknown model or version is 404; a version that is not a positive integer is 400", async () => {
    const t = await h.newTenant();
    await t.publish(m1);
    for (const path of ["/v1/models/churn/versions/2/runs", "/v1/models/other/versions/1/runs"]) {
      await expectError(await runsOf(t.ownerToken, path), 404, "NOT_FOUND");
    }
    for (const version of ["0", "-1", "1.5", "latest"]) {
      const err = await expectError(
        await runsOf(t.ownerToken, `/v1/models/churn/versions/${version}/runs`),
        400,
        "INVALID_REQUEST",
      );
      expect(err.error.issues?.map((i) => i.path).join(" ")).toContain("version");
    }
  });

  it("security: requires a valid token; another tenant's runs are a 404 with none of their data", async () => {
    await expectAuthRequired(h, "GET", "/v1/models/churn/versions/1/runs");
    const a = await h.newTenant("A");
    expect((await publishWithRuns(a, RUNS)).status).toBe(201);
    const b = await h.newTenant("B");
    const res = await runsOf(b.ownerToken);
    const text = await res.clone().text();
    await expectError(res, 404, "NOT_FOUND");
    expect(text).not.toContain("gbdt");
    await expectError(await runsOf(await a.tokenFor("auditor")), 403, "FORBIDDEN");
  });
});
