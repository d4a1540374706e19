import { describe, expect, it } from "vitest";
import type { PredictResponse } from "#shared/predict.ts";
import { customer, fixtureManifest, newTenant } from "./harness.ts";

describe("POST /v1/predict (happy path)", () => {
  it("scores one customer with the tenant's live model", async () => {
    const tenant = await newTenant();
    const res = await tenant.predict({ records: [customer({ customerId: "c-1" })] });
    expect(res.status).toBe(200);
    expect(res.headers.get("x-request-id")).toBeTruthy();
    const body = (await res.json()) as PredictResponse;
    const [p] = body.predictions;
    expect(p!.probability).toBeGreaterThan(0);
    expect(p!.probability).toBeLessThan(1);
    expect(p!.customerId).toBe("c-1");
    expect(p!.contact).toBe(p!.probability >= fixtureManifest().threshold);
    expect(["low", "medium", "high"]).toContain(p!.riskBand);
    expect(p!.reasons).toBeUndefined();
    expect(body.model).toMatchObject({
      versionId: tenant.production!.versionId,
      version: 1,
      variant: "production",
      name: fixtureManifest().name,
    });
  });

  it("explains with the top reasons, largest effect first, summing with the base margin to the logit", async () => {
    const tenant = await newTenant();
    const features = fixtureManifest().features.length;
    const res = await tenant.predict({ records: [customer()], explain: true, topReasons: features });
    const body = (await res.json()) as PredictResponse;
    const p = body.predictions[0]!;
    const reasons = p.reasons!;
    expect(reasons).toHaveLength(features);
    const magnitudes = reasons.map((r) => Math.abs(r.contribution));
    expect([...magnitudes].sort((a, b) => b - a)).toEqual(magnitudes);
    const base = fixtureManifest().outputs.contributions!.baseMargin;
    const margin = base + reasons.reduce((sum, r) => sum + r.contribution, 0);
    expect(1 / (1 + Math.exp(-margin))).toBeCloseTo(p.probability, 5);
  });

  it("scores 1,000 records in one call, in order", async () => {
    const tenant = await newTenant();
    const records = Array.from({ length: 1000 }, (_, i) => customer({ tenure: i % 72, customerId: `c${i}` }));
    const res = await tenant.predict({ records, explain: true });
    expect(res.status).toBe(200);
    const body = (await res.json()) as PredictResponse;
    expect(body.predictions).toHaveLength(1000);
    expect(body.predictions[999]!.customerId).toBe("c999");
    expect(new Set(body.predictions.map((p) => p.predictionId)).size).toBe(1000);
  });

  it("accepts categories the model never saw", async () => {
    const tenant = await newTenant();
    const categorical = fixtureManifest().features.find((f) => f.type === "categorical")!;
    const res = await tenant.predict({ records: [customer({ [categorical.name]: "something new" })] });
    expect(res.status).toBe(200);
  });

  it("reports the live model", async () => {
    const tenant = await newTenant();
    const { SELF } = await import("cloudflare:test");
    const res = await SELF.fetch("https://edge.test/v1/models/live", {
      headers: { authorization: `Bearer ${await tenant.token()}` },
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { production: { versionId: string }; features: unknown[] };
    expect(body.production.versionId).toBe(tenant.production!.versionId);
    expect(body.features).toHaveLength(fixtureManifest().features.length);
  });
});

describe("POST /v1/predict with a calibrated tree model", () => {
  it("explains with exact TreeSHAP reasons from the explainer package, only when asked", async () => {
    const tenant = await newTenant({ kind: "tree" });
    const features = fixtureManifest("tree").features.length;
    const plain = (await (await tenant.predict({ records: [customer()] })).json()) as PredictResponse;
    expect(plain.predictions[0]!.reasons).toBeUndefined();
    const res = await tenant.predict({
      records: [customer(), customer({ tenure: 70 })],
      explain: true,
      topReasons: features,
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as PredictResponse;
    for (const p of body.predictions) {
      expect(p.reasons).toHaveLength(features);
      expect(p.reasons!.every((r) => Number.isFinite(r.contribution))).toBe(true);
    }
    // A longer tenure lowers churn risk in the synthetic data, and its reason says so.
    const tenure = (i: number) =>
      body.predictions[i]!.reasons!.find((r) => r.feature === "tenure")!.contribution;
    expect(tenure(1)).toBeLessThan(tenure(0));
    expect(body.predictions[1]!.probability).toBeLessThan(body.predictions[0]!.probability);
  });
});

describe("POST /v1/predict with an MLP", () => {
  it("serves the network and explains it with DeepLIFT reasons that sum with the base margin to the logit", async () => {
    const tenant = await newTenant({ kind: "mlp" });
    const manifest = fixtureManifest("mlp");
    expect(manifest.family).toBe("mlp");
    const features = manifest.features.length;
    const res = await tenant.predict({
      records: [customer(), customer({ tenure: 70, Contract: "Two year" })],
      explain: true,
      topReasons: features,
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as PredictResponse;
    expect(body.model.versionId).toBe(tenant.production!.versionId);
    const logit = (i: number) =>
      manifest.explainer!.baseMargin + body.predictions[i]!.reasons!.reduce((s, r) => s + r.contribution, 0);
    body.predictions.forEach((p, i) => {
      expect(p.reasons).toHaveLength(features);
      expect(1 / (1 + Math.exp(-logit(i)))).toBeCloseTo(p.probability, 5);
    });
    // A long-standing two-year customer is less likely to leave.
    expect(body.predictions[1]!.probability).toBeLessThan(body.predictions[0]!.probability);
  });
});
