import { describe, expect, it } from "vitest";
import type { PredictResponse } from "#shared/predict.ts";
import { customer, modelBytes, newTenant, seedVersion, writePointer } from "./harness.ts";

async function tenantWithCanary(weight: number, options: { brokenCanary?: boolean; shadow?: boolean } = {}) {
  const tenant = await newTenant({ deploy: false });
  const production = await seedVersion(modelBytes(), 1);
  const canary = await seedVersion(options.brokenCanary ? modelBytes().slice(0, 64) : modelBytes(), 2);
  const shadow = await seedVersion(modelBytes(), 3);
  await writePointer(tenant.tenantId, {
    revision: 1,
    production,
    canary: { ...canary, weight },
    shadows: options.shadow ? [shadow] : [],
    allowUnknownFields: false,
  });
  return { tenant, production, canary, shadow };
}

const customers = (n: number) => Array.from({ length: n }, (_, i) => customer({ customerId: `cust-${i}` }));

describe("canary and shadow deployments", () => {
  it("a 100% canary serves every record", async () => {
    const { tenant, canary } = await tenantWithCanary(100);
    const body = (await (await tenant.predict({ records: customers(5) })).json()) as PredictResponse;
    expect(body.predictions.every((p) => p.variant === "canary" && p.version === 2)).toBe(true);
    expect(body.model.versionId).toBe(canary.versionId);
  });

  it("assignment is sticky per customer, and a batch splits near the weight", async () => {
    const { tenant } = await tenantWithCanary(30);
    const records = customers(400);
    const first = (await (await tenant.predict({ records })).json()) as PredictResponse;
    const second = (await (
      await tenant.predict({ records: [...records].reverse() })
    ).json()) as PredictResponse;
    const variantOf = new Map(first.predictions.map((p) => [p.customerId, p.variant]));
    for (const p of second.predictions) expect(p.variant).toBe(variantOf.get(p.customerId));
    const share = first.predictions.filter((p) => p.variant === "canary").length / records.length;
    expect(share).toBeGreaterThan(0.2);
    expect(share).toBeLessThan(0.4);
    // One customer alone gets what it got inside the batch.
    const alone = (await (await tenant.predict({ records: [records[7]!] })).json()) as PredictResponse;
    expect(alone.predictions[0]!.variant).toBe(variantOf.get("cust-7"));
  });

  it("a canary that cannot load falls back to production", async () => {
    const { tenant, production } = await tenantWithCanary(100, { brokenCanary: true });
    const res = await tenant.predict({ records: customers(3) });
    expect(res.status).toBe(200);
    const body = (await res.json()) as PredictResponse;
    expect(body.predictions.every((p) => p.variant === "production")).toBe(true);
    expect(body.model.versionId).toBe(production.versionId);
  });

  it("shadows never appear in responses", async () => {
    const { tenant, shadow } = await tenantWithCanary(0, { shadow: true });
    const body = (await (await tenant.predict({ records: customers(10) })).json()) as PredictResponse;
    expect(JSON.stringify(body)).not.toContain(shadow.versionId);
    expect(body.predictions.every((p) => p.variant === "production" && p.version === 1)).toBe(true);
  });
});
