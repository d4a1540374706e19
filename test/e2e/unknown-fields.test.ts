import { describe, expect, it } from "vitest";
import type { PredictResponse } from "#shared/predict.ts";
import { clientCredentialsToken } from "../../trainer/src/remote/control-plane-client.ts";
import { demoPlatform } from "../helpers/demo-platform.ts";
import { SAMPLE_CUSTOMER } from "../helpers/model-fixture.ts";

/** The tenant's setting set in the control plane reaches the edge: unknown fields refused, then ignored. */
describe("unknown fields, end to end", () => {
  const platform = demoPlatform("churn-e2e-unknown-");

  it("are refused by default and scored, ignored, within seconds of the tenant allowing them", async () => {
    const { state } = platform();
    const token = await clientCredentialsToken(state.controlPlaneUrl, state.clientId, state.clientSecret);
    const predict = (record: Record<string, unknown>) =>
      fetch(`${state.edgeUrl}/v1/predict`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: JSON.stringify({ records: [record] }),
      });
    const withExtra = { ...SAMPLE_CUSTOMER, loyaltyTier: "gold" };

    const refused = await predict(withExtra);
    expect(refused.status).toBe(400);
    expect(await refused.json()).toMatchObject({
      error: {
        code: "INVALID_REQUEST",
        issues: [{ path: "records.0.loyaltyTier", message: "unknown field for the live model" }],
      },
    });

    const set = await fetch(`${state.controlPlaneUrl}/v1/settings/predict`, {
      method: "PUT",
      headers: { authorization: `Bearer ${state.ownerToken}`, "content-type": "application/json" },
      body: JSON.stringify({ allowUnknownFields: true }),
    });
    expect(set.status).toBe(200);

    // The edge serves its cached pointer for a few seconds, then picks up the republished one.
    let res = await predict(withExtra);
    for (const deadline = Date.now() + 30_000; res.status === 400 && Date.now() < deadline; ) {
      await new Promise((r) => setTimeout(r, 500));
      res = await predict(withExtra);
    }
    expect(res.status).toBe(200);
    const scored = (await res.json()) as PredictResponse;
    const plain = (await (await predict(SAMPLE_CUSTOMER)).json()) as PredictResponse;
    expect(scored.predictions[0]!.probability).toBe(plain.predictions[0]!.probability);
  });
});
