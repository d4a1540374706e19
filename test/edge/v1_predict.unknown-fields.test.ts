import { describe, expect, it } from "vitest";
import type { PredictResponse } from "#shared/predict.ts";
import { customer, errorOf, newTenant, writePointer } from "./harness.ts";

/** A tenant whose pointer carries the setting exactly as the control plane publishes it. */
async function tenantAllowing(allowUnknownFields: boolean | undefined) {
  const tenant = await newTenant();
  await writePointer(tenant.tenantId, {
    revision: 1,
    production: tenant.production!,
    shadows: [],
    ...(allowUnknownFields === undefined ? {} : { allowUnknownFields }),
  } as Parameters<typeof writePointer>[1]);
  return tenant;
}

const withExtras = customer({ customerId: "c-1", favouriteColour: "blue", crmSegment: { tier: 2 } });

describe("POST /v1/predict: unknown fields follow the tenant's setting", () => {
  for (const [label, setting] of [
    ["absent from the pointer", undefined],
    ["false", false],
  ] as const) {
    it(`refuses them with 400 naming each field when the setting is ${label}`, async () => {
      const tenant = await tenantAllowing(setting);
      const res = await tenant.predict({ records: [customer(), withExtras] });
      expect(res.status).toBe(400);
      const error = await errorOf(res);
      expect(error.code).toBe("INVALID_REQUEST");
      expect(error.issues).toEqual([
        { path: "records.1.favouriteColour", message: "unknown field for the live model" },
        { path: "records.1.crmSegment", message: "unknown field for the live model" },
      ]);
    });
  }

  it("scores them, ignoring the fields, once the tenant allows them", async () => {
    const tenant = await tenantAllowing(true);
    const res = await tenant.predict({ records: [withExtras, customer({ customerId: "c-1" })] });
    expect(res.status).toBe(200);
    const [extra, plain] = ((await res.json()) as PredictResponse).predictions;
    expect(extra!.probability).toBe(plain!.probability);
    expect(extra!.customerId).toBe("c-1");
  });

  it("still refuses what is wrong with known fields and forbidden keys when unknown ones are allowed", async () => {
    const tenant = await tenantAllowing(true);
    const raw = `{"records":[{${JSON.stringify(customer()).slice(1, -1)},"__proto__":{"x":1},"extra":1}]}`;
    const res = await tenant.predict(raw);
    expect(res.status).toBe(400);
    expect((await errorOf(res)).issues).toEqual([{ path: "records.0.__proto__", message: "forbidden key" }]);
  });
});
