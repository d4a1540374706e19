import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { PredictResponse } from "#shared/predict.ts";
import { SIGNATURE_HEADER, signBody } from "#shared/signature.ts";
import { listen, publishControlPlaneLocation } from "../../control-plane/src/control-plane.ts";
import { ingestedEvents } from "../../control-plane/src/platform/db/schema/index.ts";
import { type Platform, startPlatform } from "../../scripts/lib/platform.ts";
import { clientCredentialsToken } from "../../trainer/src/remote/control-plane-client.ts";
import { SAMPLE_CUSTOMER } from "../helpers/model-fixture.ts";

/** Prediction and feedback events travel edge → queue → consumer → control plane, and survive its outage. */
describe("events pipeline", () => {
  let dir: string;
  let platform: Platform;
  let token: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "churn-events-"));
    platform = await startPlatform({
      dataDir: join(dir, "data"),
      controlPlanePort: 0,
      edgePort: 0,
      demoRows: 1500,
      demoTimeBudget: 5,
    });
    const { state } = platform;
    token = await clientCredentialsToken(state.controlPlaneUrl, state.clientId, state.clientSecret);
  });

  afterAll(async () => {
    await platform?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const post = (path: string, body: unknown) =>
    fetch(`${platform.state.edgeUrl}${path}`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify(body),
    });

  async function waitForEvents(type: "prediction" | "feedback", count: number, timeoutMs = 20_000) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const rows = await platform.deps.db
        .select()
        .from(ingestedEvents)
        .where(eq(ingestedEvents.tenantId, platform.state.tenantId));
      const matching = rows.filter((r) => r.type === type);
      if (matching.length >= count || Date.now() > deadline) return matching;
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  it("delivers prediction and feedback events to the control plane", async () => {
    const predicted = await post("/v1/predict", { records: [{ customerId: "c-42", ...SAMPLE_CUSTOMER }] });
    const body = (await predicted.json()) as PredictResponse;
    const fed = await post("/v1/feedback", {
      feedback: [{ predictionId: body.predictions[0]!.predictionId, churned: true }],
    });
    expect(fed.status).toBe(202);
    const predictions = await waitForEvents("prediction", 1);
    expect(predictions.some((r) => r.payload.includes(body.predictions[0]!.predictionId))).toBe(true);
    const feedback = await waitForEvents("feedback", 1);
    expect(feedback.length).toBeGreaterThanOrEqual(1);
  });

  it("keeps feedback while the control plane is down and delivers it when it returns", async () => {
    await platform.controlPlane.close();
    const fed = await post("/v1/feedback", { feedback: [{ customerId: "during-outage", churned: false }] });
    expect(fed.status).toBe(202);
    const { eventId } = (await fed.json()) as { eventId: string };
    await new Promise((r) => setTimeout(r, 3_000)); // deliveries fail and are retried meanwhile
    platform.controlPlane = await listen(platform.app, "127.0.0.1", 0);
    await publishControlPlaneLocation(platform.deps.edge, platform.controlPlane.url);
    const deadline = Date.now() + 30_000;
    let found = false;
    while (!found && Date.now() < deadline) {
      const rows = await platform.deps.db
        .select()
        .from(ingestedEvents)
        .where(eq(ingestedEvents.eventId, eventId));
      found = rows.length === 1;
      if (!found) await new Promise((r) => setTimeout(r, 250));
    }
    expect(found).toBe(true);
  });

  it("a redelivered batch is stored once", async () => {
    const event = {
      type: "feedback",
      eventId: "evt_redelivered0000000001",
      tenantId: platform.state.tenantId,
      at: new Date().toISOString(),
      feedback: [{ customerId: "c-1", churned: true, observedAt: new Date().toISOString() }],
    };
    const body = JSON.stringify({ events: [event] });
    const send = async () =>
      fetch(`${platform.controlPlane.url}/v1/ingest/events`, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          [SIGNATURE_HEADER]: await signBody(platform.state.ingestSecret, body),
        },
        body,
      });
    expect(await (await send()).json()).toEqual({ accepted: 1, duplicates: 0 });
    expect(await (await send()).json()).toEqual({ accepted: 0, duplicates: 1 });
    const unsigned = await fetch(`${platform.controlPlane.url}/v1/ingest/events`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body,
    });
    expect(unsigned.status).toBe(401);
  });
});
