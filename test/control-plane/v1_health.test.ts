import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../../control-plane/src/app.ts";
import { openDatabase } from "../../control-plane/src/db/client.ts";
import pkg from "../../package.json" with { type: "json" };
import { healthResponseSchema } from "../../shared/src/predict.ts";
import {
  type ControlPlaneHarness,
  expectError,
  startControlPlane,
} from "../helpers/control-plane-harness.ts";

let h: ControlPlaneHarness;
beforeAll(async () => {
  h = await startControlPlane();
});
afterAll(() => h?.close());

/** Every route the control plane serves, as the OpenAPI document must list it. */
const OPERATIONS = {
  "/v1/health": ["get"],
  "/v1/ready": ["get"],
  "/.well-known/jwks.json": ["get"],
  "/v1/oauth/token": ["post"],
  "/v1/models/{name}/versions": ["get", "post"],
  "/v1/deployment": ["get", "put"],
  "/v1/ingest/events": ["post"], // HMAC-signed by the edge's queue consumer, not bearer-authenticated
  "/v1/audit": ["get"],
  "/v1/audit/verify": ["get"],
  "/v1/audit/export": ["get"],
} as const;

interface OpenApiDoc {
  openapi: string;
  info: { title: string; version: string };
  paths: Record<string, Record<string, { security?: unknown[]; responses: Record<string, unknown> }>>;
  components: {
    securitySchemes: Record<string, { type: string; scheme: string }>;
    schemas: Record<string, unknown>;
  };
}

describe("GET /v1/health and /v1/ready: happy", () => {
  it("answers 200 with the service and version, without authentication", async () => {
    for (const path of ["/v1/health", "/v1/ready"]) {
      const res = await h.request(path);
      expect(res.status, path).toBe(200);
      expect(res.headers.get("x-request-id")).toMatch(/^req_/);
      expect(healthResponseSchema.parse(await res.json())).toEqual({
        status: "ok",
        service: "control-plane",
        version: pkg.version,
      });
    }
  });
});

describe("GET /v1/openapi.json", () => {
  it("is an OpenAPI 3.1 document listing every route", async () => {
    const res = await h.request("/v1/openapi.json");
    expect(res.status).toBe(200);
    const doc = (await res.json()) as OpenApiDoc;
    expect(doc.openapi).toBe("3.1.0");
    expect(doc.info).toEqual({ title: "Churn control plane", version: pkg.version });
    for (const [path, methods] of Object.entries(OPERATIONS)) {
      expect(Object.keys(doc.paths), path).toContain(path);
      expect(Object.keys(doc.paths[path]!).sort(), path).toEqual([...methods].sort());
    }
    expect(Object.keys(doc.paths).sort()).toEqual(Object.keys(OPERATIONS).sort());
  });

  it("documents bearer auth and a 401 on every authenticated operation, with the shared error schema", async () => {
    const doc = (await (await h.request("/v1/openapi.json")).json()) as OpenApiDoc;
    expect(doc.components.securitySchemes["bearerAuth"]).toMatchObject({ type: "http", scheme: "bearer" });
    expect(Object.keys(doc.components.schemas)).toEqual(
      expect.arrayContaining(["Error", "Manifest", "Deployment"]),
    );
    const authenticated = [
      ["/v1/models/{name}/versions", "get"],
      ["/v1/models/{name}/versions", "post"],
      ["/v1/deployment", "get"],
      ["/v1/deployment", "put"],
      ["/v1/audit", "get"],
      ["/v1/audit/verify", "get"],
      ["/v1/audit/export", "get"],
    ] as const;
    for (const [path, method] of authenticated) {
      const op = doc.paths[path]![method]!;
      expect(op.security, `${method} ${path}`).toEqual([{ bearerAuth: [] }]);
      expect(Object.keys(op.responses), `${method} ${path}`).toEqual(expect.arrayContaining(["401", "403"]));
    }
    for (const [path, method] of [
      ["/v1/health", "get"],
      ["/v1/oauth/token", "post"],
      ["/.well-known/jwks.json", "get"],
    ] as const) {
      expect(doc.paths[path]![method]!.security ?? [], `${method} ${path} is public`).toEqual([]);
    }
  });
});

describe("unknown routes and request ids: error", () => {
  it("answers an unknown route with a 404 envelope naming it", async () => {
    for (const [method, path] of [
      ["GET", "/v1/nope"],
      ["GET", "/"],
      ["POST", "/v1/health"],
      ["DELETE", "/v1/deployment"],
      ["GET", "/v2/deployment"],
    ] as const) {
      const body = await expectError(await h.request(path, { method }), 404, "NOT_FOUND");
      expect(body.error.message).toBe(`No route for ${method} ${path}`);
    }
  });

  it("answers 503 UNAVAILABLE from /v1/ready when the database is gone, while /v1/health stays up", async () => {
    const database = await openDatabase(`file:${join(h.dir, "gone.db")}`);
    database.close();
    const down = createApp({ ...h.deps, db: database.db });
    await expectError(await down.request("/v1/ready"), 503, "UNAVAILABLE");
    expect((await down.request("/v1/health")).status).toBe(200);
    expect((await h.request("/v1/ready")).status).toBe(200); // the real one is unaffected
  });
});

describe("request ids: security", () => {
  it("echoes a well-formed inbound x-request-id and replaces anything else", async () => {
    const ok = await h.request("/v1/health", { headers: { "x-request-id": "trace_abc-123456" } });
    expect(ok.headers.get("x-request-id")).toBe("trace_abc-123456");
    for (const bad of [
      "short",
      "has spaces in it",
      "x".repeat(65),
      "<script>alert(1)</script>",
      "a\tb12345678",
    ]) {
      const res = await h.request("/v1/nope", { headers: { "x-request-id": bad } });
      const body = await expectError(res, 404, "NOT_FOUND");
      expect(body.error.requestId).toMatch(/^req_[0-9a-z]{20}$/);
    }
  });

  it("answers path traversal with the plain 404 envelope, naming no internals", async () => {
    const res = await h.request("/v1/../../etc/passwd");
    const text = await res.text();
    expect(res.status).toBe(404);
    expect(text).not.toMatch(/stack|at \/|node_modules/);
  });
});
