import { describe, expect, it } from "vitest";
import { monthOf } from "#shared/time.ts";
import { usageResponseSchema } from "#shared/usage.ts";
import { clientCredentialsToken } from "../../trainer/src/remote/control-plane-client.ts";
import { demoPlatform } from "../helpers/demo-platform.ts";
import { SAMPLE_CUSTOMER } from "../helpers/model-fixture.ts";

/** Quotas set in the control plane are enforced by the edge, whose counts the control plane reads back. */
describe("monthly prediction quotas, end to end", () => {
  const platform = demoPlatform("churn-e2e-quota-");

  it("a client's quota refuses at the edge past its size, and GET /v1/usage shows what the edge counted", async () => {
    const { state } = platform();
    const admin = (method: string, path: string, body?: unknown) =>
      fetch(`${state.controlPlaneUrl}${path}`, {
        method,
        headers: { authorization: `Bearer ${state.ownerToken}`, "content-type": "application/json" },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
    expect(
      (await admin("PATCH", `/v1/clients/${state.clientId}`, { monthlyPredictionQuota: 5 })).status,
    ).toBe(200);
    expect((await admin("PUT", "/v1/settings/quota", { monthlyPredictionQuota: 1000 })).status).toBe(200);

    const token = await clientCredentialsToken(state.controlPlaneUrl, state.clientId, state.clientSecret);
    const predict = (n: number) =>
      fetch(`${state.edgeUrl}/v1/predict`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: JSON.stringify({ records: Array.from({ length: n }, () => SAMPLE_CUSTOMER) }),
      });
    expect((await predict(3)).status).toBe(200);
    const short = await predict(3);
    expect(short.status).toBe(429);
    expect(await short.json()).toMatchObject({
      error: {
        code: "QUOTA_EXCEEDED",
        message: expect.stringMatching(/^This client's monthly prediction quota of 5 has 2 predictions left/),
      },
    });
    expect((await predict(2)).status).toBe(200);
    const refused = await predict(1);
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(0);

    // The edge writes its counts every few seconds; the control plane reads them from the same KV.
    let usage = usageResponseSchema.parse(await (await admin("GET", "/v1/usage")).json());
    for (const deadline = Date.now() + 30_000; usage.tenant.used < 5 && Date.now() < deadline; ) {
      await new Promise((r) => setTimeout(r, 500));
      usage = usageResponseSchema.parse(await (await admin("GET", "/v1/usage")).json());
    }
    expect(usage).toMatchObject({
      month: monthOf(Date.now()),
      tenant: { used: 5, limit: 1000 },
      clients: [{ id: state.clientId, name: "demo-predict", revoked: false, used: 5, limit: 5 }],
    });
  });
});
