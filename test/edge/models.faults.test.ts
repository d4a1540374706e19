import { describe, expect, it, vi } from "vitest";
import type { PredictResponse } from "../../shared/src/predict.ts";
import { customer, errorOf, modelBytes, newTenant, seedVersion, writePointer } from "./harness.ts";

describe("model loading faults", () => {
  it("a corrupted model with no earlier good version is a clean 503", async () => {
    const tenant = await newTenant({ deploy: false });
    const corrupt = modelBytes().slice();
    corrupt[corrupt.length - 10] = (corrupt[corrupt.length - 10] ?? 0) ^ 0xff;
    const ref = await seedVersion(corrupt);
    await writePointer(tenant.tenantId, {
      revision: 1,
      production: ref,
      shadows: [],
      allowUnknownFields: false,
    });
    const res = await tenant.predict({ records: [customer()] });
    expect(res.status).toBe(503);
    expect((await errorOf(res)).code).toBe("MODEL_UNAVAILABLE");
  });

  it("a corrupted or missing new version keeps the last known good version serving", async () => {
    const tenant = await newTenant();
    const good = tenant.production!;
    expect((await tenant.predict({ records: [customer()] })).status).toBe(200);

    const corrupt = modelBytes().slice(0, 100);
    const bad = await seedVersion(corrupt, 2);
    await writePointer(tenant.tenantId, {
      revision: 2,
      production: bad,
      shadows: [],
      allowUnknownFields: false,
    });
    vi.useFakeTimers({ toFake: ["Date"] });
    try {
      vi.setSystemTime(Date.now() + 10_000); // past the pointer's freshness window
      await tenant.predict({ records: [customer()] }); // triggers the background re-read
      await new Promise((r) => setTimeout(r, 50));
      const res = await tenant.predict({ records: [customer()] });
      expect(res.status).toBe(200);
      expect(((await res.json()) as PredictResponse).model.versionId).toBe(good.versionId);
    } finally {
      vi.useRealTimers();
    }
  });
});
