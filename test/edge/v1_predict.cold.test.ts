import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { kvKeys } from "#shared/kv.ts";
import { createEdgeApp } from "../../edge/src/app.ts";
import type { Bindings } from "../../edge/src/env.ts";
import { customer, EDGE, errorOf, newTenant } from "./harness.ts";

/** One request through the app, returning once its waitUntil work is done too. */
async function call(token: string, body: string, contentType = "application/json") {
  const ctx = createExecutionContext();
  const res = await createEdgeApp().fetch(
    new Request(`${EDGE}/v1/predict`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": contentType },
      body,
    }),
    env as unknown as Bindings,
    ctx,
  );
  await waitOnExecutionContext(ctx);
  return res;
}

describe("POST /v1/predict in a cold isolate", () => {
  it("starts loading the tenant's model as soon as the token is verified, before the body is checked", async () => {
    const tenant = await newTenant();
    const token = await tenant.token();
    const body = JSON.stringify({ records: [customer()] });
    // Refused after authentication (wrong media type): the model load it started still completes...
    const refused = await call(token, body, "text/plain");
    expect(refused.status).toBe(415);
    // ...so with the version's keys gone from KV, the next request is scored from the isolate.
    const { versionId } = tenant.production!;
    await env.EDGE_KV.delete(kvKeys.modelBytes(versionId));
    await env.EDGE_KV.delete(kvKeys.modelManifest(versionId));
    const res = await call(token, body);
    expect(res.status).toBe(200);
  });

  it("a model that cannot be loaded is reported by the request, whatever its early load did", async () => {
    const tenant = await newTenant({ deploy: false });
    const res = await call(await tenant.token(), JSON.stringify({ records: [customer()] }));
    expect(res.status).toBe(503);
    expect((await errorOf(res)).code).toBe("MODEL_UNAVAILABLE");
  });
});
