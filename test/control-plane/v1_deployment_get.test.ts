import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deploymentSchema } from "../../shared/src/registry.ts";
import {
  type ControlPlaneHarness,
  expectAuthRequired,
  expectError,
  startControlPlane,
} from "../helpers/control-plane-harness.ts";
import type { ModelFixture } from "../helpers/model-fixture.ts";

let h: ControlPlaneHarness;
let m1: ModelFixture;
beforeAll(async () => {
  h = await startControlPlane();
  m1 = await h.fixture(7);
});
afterAll(() => h?.close());

describe("GET /v1/deployment: happy", () => {
  it("returns the current deployment with its revision as the ETag, to every reader", async () => {
    const t = await h.newTenant();
    const v1 = await t.publish(m1);
    const deployed = await t.deploy(v1.id);
    const tokens: [string, string][] = [
      ["owner", t.ownerToken],
      ["admin", await t.tokenFor("admin")],
      ["ml-engineer", await t.tokenFor("ml-engineer")],
      ["analyst", await t.tokenFor("analyst")],
      ["models:read client", await t.clientToken(["models:read"])],
      ["deployments:write client", await t.clientToken(["deployments:write"])],
    ];
    for (const [who, token] of tokens) {
      const res = await h.request("/v1/deployment", { token });
      expect(res.status, who).toBe(200);
      expect(res.headers.get("etag"), who).toBe('"1"');
      expect(deploymentSchema.parse(await res.json()), who).toEqual(deployed);
    }
  });
});

describe("GET /v1/deployment: error", () => {
  it("answers 404 NOT_FOUND when the tenant has no deployment yet", async () => {
    const t = await h.newTenant();
    await t.publish(m1);
    const res = await h.request("/v1/deployment", { token: t.ownerToken });
    await expectError(res, 404, "NOT_FOUND");
    expect(res.headers.get("etag")).toBeNull();
  });
});

describe("GET /v1/deployment: security", () => {
  it("requires a valid token (missing, garbage, expired, wrong audience, foreign key → 401)", async () => {
    await expectAuthRequired(h, "GET", "/v1/deployment");
  });

  it("forbids auditors (403 FORBIDDEN) and clients without a read scope (403 INSUFFICIENT_SCOPE)", async () => {
    const t = await h.newTenant();
    await t.deploy((await t.publish(m1)).id);
    await expectError(
      await h.request("/v1/deployment", { token: await t.tokenFor("auditor") }),
      403,
      "FORBIDDEN",
    );
    for (const scopes of [["predict"], ["models:publish"], ["feedback:write"]] as const) {
      const res = await h.request("/v1/deployment", { token: await t.clientToken([...scopes]) });
      await expectError(res, 403, "INSUFFICIENT_SCOPE");
    }
  });

  it("shows each tenant only its own deployment", async () => {
    const a = await h.newTenant("A");
    const b = await h.newTenant("B");
    const va = await a.publish(m1);
    await a.deploy(va.id);
    const res = await h.request("/v1/deployment", { token: b.ownerToken });
    const text = await res.clone().text();
    await expectError(res, 404, "NOT_FOUND");
    for (const leak of [a.tenantId, va.id]) expect(text).not.toContain(leak);
  });
});
