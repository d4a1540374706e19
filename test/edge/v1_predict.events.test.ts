import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { EdgeEvent, PredictionEvent, RejectedEvent } from "#shared/events.ts";
import { kvKeys } from "#shared/kv.ts";
import type { Manifest } from "#shared/manifest.ts";
import { emptySketch, mergeSketch } from "#shared/monitoring.ts";
import type { PredictResponse } from "#shared/predict.ts";
import { createEdgeApp } from "../../edge/src/app.ts";
import type { Bindings } from "../../edge/src/env.ts";
import { MESSAGE_BUDGET_BYTES } from "../../edge/src/events/prediction-events.ts";
import { customer, EDGE, fixtureManifest, newTenant, seedVersion, writePointer } from "./harness.ts";
import { expectSameSketch, referenceSketch } from "./sketch-reference.ts";

/** Cloudflare Queues refuse messages over 128 KB. */
const QUEUE_MESSAGE_LIMIT = 128_000;
const bytesOf = (value: unknown) => new TextEncoder().encode(JSON.stringify(value)).byteLength;

/**
 * The real queue binding, watched: every message is recorded, then sent on to the real queue (which
 * enforces its own limits); a refusal is recorded too.
 */
function watchedQueue() {
  const sent: EdgeEvent[] = [];
  const refused: string[] = [];
  const real = env.EVENTS as unknown as Queue<EdgeEvent>;
  const queue = {
    send: (body: EdgeEvent) => real.send(body),
    sendBatch: async (messages: Iterable<MessageSendRequest<EdgeEvent>>) => {
      const batch = [...messages];
      sent.push(...batch.map((m) => m.body));
      try {
        await real.sendBatch(batch);
      } catch (err) {
        refused.push(String(err));
        throw err;
      }
    },
  } as unknown as Queue<EdgeEvent>;
  return { queue, sent, refused };
}

async function call(token: string, body: unknown) {
  const watched = watchedQueue();
  const bindings = { ...(env as unknown as Bindings), EVENTS: watched.queue };
  const ctx = createExecutionContext();
  const res = await createEdgeApp().fetch(
    new Request(`${EDGE}/v1/predict`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: typeof body === "string" ? body : JSON.stringify(body),
    }),
    bindings,
    ctx,
  );
  await waitOnExecutionContext(ctx);
  return { res, ...watched };
}

function ofTenant<T extends EdgeEvent["type"]>(events: EdgeEvent[], tenantId: string, type: T) {
  return events.filter((e) => e.tenantId === tenantId && e.type === type) as Extract<
    EdgeEvent,
    { type: T }
  >[];
}

/** Deterministic traffic around the training range: edges hit, values outside it, unseen categories, gaps. */
function traffic(manifest: Manifest, n: number, extraFields = 0): Record<string, unknown>[] {
  return Array.from({ length: n }, (_, i) => {
    const record: Record<string, unknown> = { customerId: `cust-${i}` };
    manifest.features.forEach((feature, f) => {
      const ref = manifest.reference!.features[feature.name]!;
      const pick = (i * 7 + f * 13) % 10;
      if (!feature.required && pick === 0) return;
      if (feature.type === "numeric" && ref.type === "numeric") {
        const lo = ref.min ?? 0;
        const hi = ref.max ?? 1;
        record[feature.name] =
          pick === 1 && ref.edges.length > 0
            ? ref.edges[i % ref.edges.length]
            : Math.round((lo - 0.2 * (hi - lo) + 1.4 * (hi - lo) * (((i * 37 + f * 11) % 101) / 100)) * 100) /
              100;
      } else if (feature.type === "categorical") {
        record[feature.name] = pick === 2 ? "Never seen" : feature.categories[i % feature.categories.length];
      }
    });
    for (let k = 0; k < extraFields; k++) record[`note_${k}`] = `free text ${i}-${k} ${"ü".repeat(k)}`;
    return record;
  });
}

const scoredOf = (response: PredictResponse, ids: Set<string>) =>
  response.predictions.filter((p) => ids.has(p.predictionId));

describe("prediction events", () => {
  afterEach(() => vi.restoreAllMocks());

  it("carry a sketch whose counts and sums are exactly the records scored", async () => {
    const tenant = await newTenant();
    const manifest = fixtureManifest();
    const records = traffic(manifest, 60);
    const { res, sent } = await call(await tenant.token(), { records });
    expect(res.status).toBe(200);
    const response = (await res.json()) as PredictResponse;
    const [event, ...more] = ofTenant(sent, tenant.tenantId, "prediction");
    expect(more).toEqual([]);
    expect(event!.versionId).toBe(tenant.production!.versionId);
    expect(event!.records).toBeUndefined();
    const sketch = event!.sketch!;
    expect(sketch.records).toBe(60);
    expect(sketch.contacts).toBe(response.predictions.filter((p) => p.contact).length);
    expectSameSketch(sketch, referenceSketch(manifest, records, response.predictions));
    // The traffic reaches every counter, so a counter that stopped counting would show.
    const features = Object.values(sketch.features);
    expect(features.some((f) => f.type === "numeric" && f.outOfRange > 0)).toBe(true);
    expect(features.some((f) => f.type === "categorical" && f.unseen > 0)).toBe(true);
    expect(features.some((f) => f.missing > 0)).toBe(true);
  });

  it("chunk 1,000 records per variant, each chunk's sketch summing exactly to what it scored", async () => {
    const tenant = await newTenant();
    const canary = await seedVersion(undefined, 2);
    await writePointer(tenant.tenantId, {
      revision: 2,
      production: tenant.production!,
      canary: { ...canary, weight: 40 },
      shadows: [],
      allowUnknownFields: false,
    });
    const manifest = fixtureManifest();
    const records = traffic(manifest, 1000);
    const { res, sent, refused } = await call(await tenant.token(), { records });
    expect(res.status).toBe(200);
    const response = (await res.json()) as PredictResponse;
    const events = ofTenant(sent, tenant.tenantId, "prediction");
    expect(refused).toEqual([]);
    for (const variant of ["production", "canary"] as const) {
      const chunks = events.filter((e) => e.variant === variant);
      const served = response.predictions.filter((p) => p.variant === variant);
      expect(served.length).toBeGreaterThan(0);
      expect(chunks.length).toBe(Math.ceil(served.length / 400));
      for (const chunk of chunks) {
        expect(chunk.predictions.length).toBeLessThanOrEqual(400);
        expect(chunk.sketch!.records).toBe(chunk.predictions.length);
        expect(bytesOf(chunk)).toBeLessThan(QUEUE_MESSAGE_LIMIT);
      }
      const merged = emptySketch(manifest.reference!);
      for (const chunk of chunks) mergeSketch(merged, chunk.sketch!);
      const rows = response.predictions.flatMap((p, i) => (p.variant === variant ? [i] : []));
      expectSameSketch(
        merged,
        referenceSketch(
          manifest,
          rows.map((i) => records[i]!),
          scoredOf(response, new Set(chunks.flatMap((c) => c.predictions.map((p) => p.predictionId)))),
        ),
      );
    }
  });
});

describe("raw records", () => {
  afterEach(() => vi.restoreAllMocks());

  async function tenantWithSettings(settings: unknown) {
    const tenant = await newTenant();
    await writePointer(tenant.tenantId, {
      revision: 1,
      production: tenant.production!,
      shadows: [],
      allowUnknownFields: true,
    });
    if (settings !== undefined)
      await env.EDGE_KV.put(kvKeys.edgeSettings(tenant.tenantId), JSON.stringify(settings));
    return tenant;
  }

  it("are attached, aligned and within the message limit when the tenant captures them, and never logged", async () => {
    const logged: string[] = [];
    for (const level of ["log", "error", "warn", "info", "debug"] as const)
      vi.spyOn(console, level).mockImplementation((...args: unknown[]) =>
        logged.push(args.map(String).join(" ")),
      );
    const tenant = await tenantWithSettings({ captureRecords: true });
    const records = traffic(fixtureManifest(), 1000, 24);
    records[17]!["secret"] = "do-not-log-7f3a";
    const { res, sent, refused } = await call(await tenant.token(), { records });
    expect(res.status).toBe(200);
    const events = ofTenant(sent, tenant.tenantId, "prediction");
    expect(refused).toEqual([]);
    expect(events.length).toBeGreaterThan(3); // 1,000 wide records do not fit three messages
    const captured: Record<string, unknown>[] = [];
    for (const event of events) {
      expect(bytesOf(event)).toBeLessThanOrEqual(MESSAGE_BUDGET_BYTES);
      expect(event.records!.map((r) => r["customerId"])).toEqual(event.predictions.map((p) => p.customerId));
      captured.push(...event.records!);
    }
    expect(captured).toHaveLength(1000);
    expect(captured.find((r) => r["customerId"] === "cust-17")).toEqual(records[17]);
    expect(logged.some((line) => line.includes("do-not-log-7f3a"))).toBe(false);
  });

  it.each([
    ["no settings", undefined],
    ["capture off", { captureRecords: false }],
    ["unreadable settings", { captureRecords: "yes" }],
  ])("are never attached with %s", async (_label, settings) => {
    const tenant = await tenantWithSettings(settings);
    const { res, sent } = await call(await tenant.token(), { records: traffic(fixtureManifest(), 30, 3) });
    expect(res.status).toBe(200);
    const events = ofTenant(sent, tenant.tenantId, "prediction");
    expect(events).toHaveLength(1);
    expect(events.every((e: PredictionEvent) => !("records" in e))).toBe(true);
    expect(JSON.stringify(events)).not.toContain("free text");
    expect(events[0]!.sketch!.records).toBe(30);
  });
});

describe("rejected events", () => {
  it("count the refused records and the errors per field", async () => {
    const tenant = await newTenant();
    const numeric = fixtureManifest().features.find((f) => f.type === "numeric")!.name;
    const records = Array.from({ length: 10 }, (_, i) =>
      customer(i < 3 ? { [numeric]: "many" } : i === 5 ? { bogus: 1 } : {}),
    );
    const { res, sent } = await call(await tenant.token(), { records });
    expect(res.status).toBe(400);
    expect(ofTenant(sent, tenant.tenantId, "prediction")).toEqual([]);
    const rejected = ofTenant(sent, tenant.tenantId, "rejected");
    expect(rejected).toHaveLength(1);
    expect(rejected[0]).toMatchObject({
      type: "rejected",
      versionId: tenant.production!.versionId,
      records: 10,
      fields: { [numeric]: 3, bogus: 1 },
    } satisfies Partial<RejectedEvent>);
    expect(Object.keys(rejected[0]!.fields)).toHaveLength(2);
  });

  it("name production's version also when the canary refused the records", async () => {
    const tenant = await newTenant();
    const canary = await seedVersion(undefined, 2);
    await writePointer(tenant.tenantId, {
      revision: 2,
      production: tenant.production!,
      canary: { ...canary, weight: 100 },
      shadows: [],
      allowUnknownFields: false,
    });
    const records = Array.from({ length: 4 }, (_, i) => customer({ customerId: `c-${i}`, bogus: 1 }));
    const { res, sent } = await call(await tenant.token(), { records });
    expect(res.status).toBe(400);
    const [rejected, ...more] = ofTenant(sent, tenant.tenantId, "rejected");
    expect(more).toEqual([]);
    expect(rejected).toMatchObject({
      versionId: tenant.production!.versionId,
      records: 4,
      fields: { bogus: 4 },
    });
  });

  it("count every error, beyond the 50 the response lists", async () => {
    const tenant = await newTenant();
    const records = Array.from({ length: 300 }, () => customer({ bogus: true }));
    const { res, sent } = await call(await tenant.token(), { records });
    expect(res.status).toBe(400);
    expect(ofTenant(sent, tenant.tenantId, "rejected")[0]!.fields).toEqual({ bogus: 300 });
  });

  it.each([
    ["malformed JSON", "{ records: ["],
    ["no records", { records: [] }],
    ["records that are not objects", { records: [1, 2] }],
  ])("are not sent for %s: no model judged those records", async (_label, body) => {
    const tenant = await newTenant();
    const { res, sent } = await call(await tenant.token(), body);
    expect(res.status).toBe(400);
    expect(sent.filter((e) => e.tenantId === tenant.tenantId)).toEqual([]);
  });

  it("are not sent for requests refused before the model (auth)", async () => {
    const tenant = await newTenant();
    const { res, sent } = await call(await tenant.token({ audience: "urn:other" }), {
      records: [customer({ bogus: 1 })],
    });
    expect(res.status).toBe(401);
    expect(sent).toEqual([]);
  });
});
