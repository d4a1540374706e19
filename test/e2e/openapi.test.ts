import { Validator } from "@seriousme/openapi-schema-validator";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LocalEdge, startLocalEdge } from "../../scripts/lib/local-edge.ts";
import { type ControlPlaneHarness, startControlPlane } from "../helpers/control-plane-harness.ts";

/** Both services' OpenAPI documents validate against the official OpenAPI 3.1 schema. */
describe("OpenAPI documents", () => {
  let controlPlane: ControlPlaneHarness;
  let edge: LocalEdge;

  beforeAll(async () => {
    [controlPlane, edge] = await Promise.all([
      startControlPlane(),
      startLocalEdge({
        port: 0,
        issuer: "urn:test",
        audience: "urn:test",
        ingestSecret: "openapi-test-secret",
      }),
    ]);
  });

  afterAll(async () => {
    await Promise.all([controlPlane?.close(), edge?.close()]);
  });

  async function expectValid(doc: unknown) {
    const validator = new Validator();
    const result = await validator.validate(doc as Parameters<Validator["validate"]>[0]);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(validator.version).toBe("3.1");
  }

  it("control plane", async () => {
    const doc = await (await controlPlane.request("/v1/openapi.json")).json();
    await expectValid(doc);
  });

  it("edge (from the built worker in workerd)", async () => {
    const doc = (await (await fetch(`${edge.url}/v1/openapi.json`)).json()) as {
      paths: Record<string, unknown>;
    };
    await expectValid(doc);
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining(["/v1/predict", "/v1/feedback", "/v1/models/live", "/v1/health"]),
    );
  });
});
