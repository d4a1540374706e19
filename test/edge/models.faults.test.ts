import { SELF } from "cloudflare:test";
import { describe, expect, it, vi } from "vitest";
import type { LiveModel } from "#shared/live-model.ts";
import type { PredictResponse } from "#shared/predict.ts";
import { customer, EDGE, errorOf, modelBytes, newTenant, seedVersion, writePointer } from "./harness.ts";

type Tenant = Awaited<ReturnType<typeof newTenant>>;

async function live(tenant: Tenant): Promise<LiveModel> {
  const res = await SELF.fetch(`${EDGE}/v1/models/live`, {
    headers: { authorization: `Bearer ${await tenant.token()}` },
  });
  expect(res.status).toBe(200);
  return (await res.json()) as LiveModel;
}

/** Moves the isolate's clock past the deployment pointer's freshness, so the next request re-reads it. */
async function afterPointerRefresh<T>(tenant: Tenant, then: () => Promise<T>): Promise<T> {
  vi.useFakeTimers({ toFake: ["Date"] });
  try {
    vi.setSystemTime(Date.now() + 10_000);
    await tenant.predict({ records: [customer()] }); // serves the cached pointer, re-reads it in the background
    // The re-read lands in waitUntil whenever the runtime gets to it: retry the checks until they hold
    // (or 2 s pass) rather than sleeping a fixed time that a busy machine can outlast.
    return await vi.waitFor(then, { timeout: 2000, interval: 50 });
  } finally {
    vi.useRealTimers();
  }
}

describe("fault: a corrupted model in KV", () => {
  it("with no earlier good version, predictions get a clean 503 MODEL_UNAVAILABLE", async () => {
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

  it("a corrupted newly deployed version keeps the last known good version serving, and /v1/models/live says so", async () => {
    const tenant = await newTenant();
    const good = tenant.production!;
    expect((await tenant.predict({ records: [customer()] })).status).toBe(200);
    expect(await live(tenant)).toMatchObject({
      revision: 1,
      production: { versionId: good.versionId, version: 1 },
      servedBy: "deployment",
      deployed: { versionId: good.versionId, version: 1 },
    });

    const bad = await seedVersion(modelBytes().slice(0, 100), 2);
    await writePointer(tenant.tenantId, {
      revision: 2,
      production: bad,
      shadows: [],
      allowUnknownFields: false,
    });
    await afterPointerRefresh(tenant, async () => {
      const res = await tenant.predict({ records: [customer()] });
      expect(res.status).toBe(200);
      expect(((await res.json()) as PredictResponse).model.versionId).toBe(good.versionId);
      // The live model is what scores, not what the deployment names.
      expect(await live(tenant)).toMatchObject({
        revision: 2,
        production: { versionId: good.versionId, version: 1 },
        servedBy: "last-known-good",
        deployed: { versionId: bad.versionId, version: 2 },
      });
    });
  });

  it("a missing newly deployed version keeps the last known good version serving", async () => {
    const tenant = await newTenant();
    const good = tenant.production!;
    expect((await tenant.predict({ records: [customer()] })).status).toBe(200);
    const missing = { ...good, versionId: "mv_never_written", version: 2 };
    await writePointer(tenant.tenantId, {
      revision: 2,
      production: missing,
      shadows: [],
      allowUnknownFields: false,
    });
    await afterPointerRefresh(tenant, async () => {
      const res = await tenant.predict({ records: [customer()] });
      expect(res.status).toBe(200);
      expect(((await res.json()) as PredictResponse).model.versionId).toBe(good.versionId);
      expect(await live(tenant)).toMatchObject({
        production: { versionId: good.versionId },
        servedBy: "last-known-good",
        deployed: { versionId: missing.versionId },
      });
    });
  });
});
