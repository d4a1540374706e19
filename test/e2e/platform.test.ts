import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { PredictResponse } from "#shared/predict.ts";
import { createApiClient } from "../../control-plane/src/modules/identity/api-clients.ts";
import { createTenant } from "../../control-plane/src/modules/identity/tenants.ts";
import { type Platform, startPlatform } from "../../scripts/lib/platform.ts";
import { main } from "../../trainer/src/cli/main.ts";
import {
  clientCredentialsToken,
  deployProduction,
  publishModelDir,
} from "../../trainer/src/remote/control-plane-client.ts";
import { SAMPLE_CUSTOMER, trainFixtureModel } from "../helpers/model-fixture.ts";

/** What `npm start` does, over HTTP: train → publish → deploy → token → predict, plus tenant isolation. */
describe("platform end to end", () => {
  let dir: string;
  let platform: Platform;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "churn-e2e-"));
    platform = await startPlatform({
      dataDir: join(dir, "data"),
      controlPlanePort: 0,
      edgePort: 0,
      demoRows: 2000,
      demoTimeBudget: 5,
    });
  });

  afterAll(async () => {
    await platform?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const predict = (token: string, body: unknown) =>
    fetch(`${platform.state.edgeUrl}/v1/predict`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify(body),
    });

  it("answers the printed example: a token from the control plane, a probability from the edge", async () => {
    const { state } = platform;
    expect(platform.created).toEqual({ tenant: true, model: true });
    const res = await fetch(`${state.controlPlaneUrl}/v1/oauth/token`, {
      method: "POST",
      headers: {
        authorization: `Basic ${Buffer.from(`${state.clientId}:${state.clientSecret}`).toString("base64")}`,
        "content-type": "application/x-www-form-urlencoded",
      },
      body: "grant_type=client_credentials",
    });
    expect(res.status).toBe(200);
    const token = (await res.json()) as { access_token: string; token_type: string; scope: string };
    expect(token.token_type).toBe("Bearer");
    expect(token.scope.split(" ")).toContain("predict");

    const scored = await predict(token.access_token, {
      records: [{ customerId: "7590-VHVEG", ...SAMPLE_CUSTOMER }],
    });
    expect(scored.status).toBe(200);
    const body = (await scored.json()) as PredictResponse;
    expect(body.predictions[0]!.probability).toBeGreaterThan(0);
    expect(body.predictions[0]!.probability).toBeLessThan(1);
    expect(body.model.version).toBe(1);
    const health = await fetch(`${state.edgeUrl}/v1/health`);
    expect(health.status).toBe(200);
  });

  it("a second tenant's token reaches only that tenant's model", async () => {
    const { state, deps } = platform;
    const b = await createTenant(deps.db, {
      name: "Other Co",
      ownerEmail: "owner@other.test",
      ownerName: "Other",
    });
    const bClient = await createApiClient(
      deps.db,
      { actor: { type: "user", id: b.ownerId }, requestId: null, ip: null, userAgent: null },
      { tenantId: b.tenantId, name: "b-predict", scopes: ["predict"] },
    );
    const bToken = await clientCredentialsToken(
      state.controlPlaneUrl,
      bClient.client.id,
      bClient.clientSecret,
    );

    // Before B deploys anything it gets 503, never tenant A's model.
    const before = await predict(bToken, { records: [SAMPLE_CUSTOMER] });
    expect(before.status).toBe(503);

    const fixture = await trainFixtureModel(join(dir, "b-model"), { rows: 1200, seed: 11 });
    const target = { url: state.controlPlaneUrl, token: b.ownerToken };
    const published = await publishModelDir(target, fixture.dir);
    await deployProduction(target, published.version.id, "tenant B's first model");

    const after = await predict(bToken, { records: [SAMPLE_CUSTOMER] });
    expect(after.status).toBe(200);
    const body = (await after.json()) as PredictResponse;
    expect(body.model.versionId).toBe(published.version.id);

    // Tenant A's token still gets A's model.
    const aToken = await clientCredentialsToken(state.controlPlaneUrl, state.clientId, state.clientSecret);
    const a = (await (await predict(aToken, { records: [SAMPLE_CUSTOMER] })).json()) as PredictResponse;
    expect(a.model.versionId).not.toBe(published.version.id);

    // B cannot deploy A's version: the id does not exist for B.
    const steal = await fetch(`${state.controlPlaneUrl}/v1/deployment`, {
      method: "PUT",
      headers: { authorization: `Bearer ${b.ownerToken}`, "content-type": "application/json" },
      body: JSON.stringify({ production: a.model.versionId }),
    });
    expect(steal.status).toBe(404);
  });

  it("churn keys rotate: old tokens keep working at the edge, new ones carry the new key; the audit chain verifies", async () => {
    const { state } = platform;
    const before = await clientCredentialsToken(state.controlPlaneUrl, state.clientId, state.clientSecret);
    const out: string[] = [];
    const io = { out: (t: string) => out.push(t), err: (t: string) => out.push(t) };
    const flags = ["--url", state.controlPlaneUrl];
    expect(
      await main(["keys", "rotate", ...flags, "--operator-token", state.operatorToken, "--json"], io),
    ).toBe(0);
    const { kid } = JSON.parse(out.pop()!) as { kid: string };
    const after = await clientCredentialsToken(state.controlPlaneUrl, state.clientId, state.clientSecret);
    const kidOf = (jwt: string) =>
      (JSON.parse(Buffer.from(jwt.split(".")[0]!, "base64url").toString()) as { kid: string }).kid;
    expect(kidOf(after)).toBe(kid);
    expect(kidOf(before)).not.toBe(kid);
    for (const token of [before, after]) {
      expect((await predict(token, { records: [SAMPLE_CUSTOMER] })).status).toBe(200);
    }
    expect(await main(["audit", "verify", ...flags, "--token", state.ownerToken], io)).toBe(0);
    expect(out.join("")).toContain("audit chain verified");
  });

  it("a second start reuses the tenant, client and model", async () => {
    await platform.stop();
    platform = await startPlatform({ dataDir: join(dir, "data"), controlPlanePort: 0, edgePort: 0 });
    expect(platform.created).toEqual({ tenant: false, model: false });
    const token = await clientCredentialsToken(
      platform.state.controlPlaneUrl,
      platform.state.clientId,
      platform.state.clientSecret,
    );
    const res = await predict(token, { records: [SAMPLE_CUSTOMER] });
    expect(res.status).toBe(200);
  });
});
