import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { healthResponseSchema } from "#shared/predict.ts";
import { createApp } from "../../control-plane/src/platform/app.ts";
import { openDatabase } from "../../control-plane/src/platform/db/client.ts";
import { Counter, Histogram } from "../../control-plane/src/platform/observability/prometheus.ts";
import pkg from "../../package.json" with { type: "json" };
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
  "/metrics": ["get"],
  "/v1/oauth/token": ["post"],
  "/v1/users": ["get", "post"],
  "/v1/users/{id}": ["delete", "patch"],
  "/v1/users/{id}/disable": ["post"],
  "/v1/users/{id}/tokens/revoke": ["post"],
  "/v1/users/{id}/invitation": ["post"],
  "/v1/invitations/redeem": ["post"],
  "/v1/users/me/tokens": ["get", "post"],
  "/v1/users/me/tokens/{id}": ["delete"],
  "/v1/clients": ["get", "post"],
  "/v1/clients/{id}": ["patch"],
  "/v1/clients/{id}/rotate": ["post"],
  "/v1/clients/{id}/revoke": ["post"],
  "/v1/settings/limits": ["put"],
  "/v1/settings/quota": ["put"],
  "/v1/usage": ["get"],
  "/v1/settings/predict": ["get", "put"],
  "/v1/settings/sso": ["get", "put"],
  "/v1/settings/saml": ["get", "put"],
  "/v1/saml/{tenantId}/metadata": ["get"], // public: the tenant's SAML service provider metadata
  "/v1/settings/monitoring": ["put"],
  "/v1/erasures": ["post"],
  "/v1/customers/{customerId}/export": ["get"],
  "/v1/monitoring/snapshot": ["get"],
  "/v1/monitoring/timeseries": ["get"],
  "/v1/monitoring/settings": ["get"],
  "/v1/models/{name}/versions": ["get", "post"],
  "/v1/models/{name}/versions/{version}/runs": ["get"],
  "/v1/models/{name}/versions/{version}/report": ["get"],
  "/v1/deployment": ["get", "put"],
  "/v1/deployment/history": ["get"],
  "/v1/deployment/rollback": ["post"],
  "/v1/ingest/events": ["post"], // HMAC-signed by the edge's queue consumer, not bearer-authenticated
  "/v1/audit": ["get"],
  "/v1/audit/verify": ["get"],
  "/v1/audit/export": ["get"],
  "/v1/alerts": ["get"],
  "/v1/alerts/rules": ["get", "put"],
  "/v1/webhooks": ["get", "post"],
  "/v1/webhooks/{id}": ["delete"],
  "/v1/webhooks/{id}/deliveries": ["get"],
  "/v1/retraining/policy": ["get", "put"],
  "/v1/retraining/jobs": ["get", "post"],
  "/v1/retraining/jobs/claim": ["post"],
  "/v1/retraining/jobs/{id}/heartbeat": ["post"],
  "/v1/retraining/jobs/{id}/complete": ["post"],
  "/v1/retraining/jobs/{id}/fail": ["post"],
  "/v1/retraining/jobs/{id}/records": ["get"],
  "/v1/retraining/jobs/{id}/production-model": ["get"],
  "/v1/candidates": ["get"],
  "/v1/candidates/{id}/promote": ["post"],
  "/v1/candidates/{id}/reject": ["post"],
  // POST /v1/admin/keys/rotate exists only with OPERATOR_TOKEN set (v1_admin_keys_rotate.test.ts).
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
      ["/v1/users", "get"],
      ["/v1/users", "post"],
      ["/v1/users/{id}", "patch"],
      ["/v1/users/{id}", "delete"],
      ["/v1/users/{id}/disable", "post"],
      ["/v1/users/{id}/tokens/revoke", "post"],
      ["/v1/users/{id}/invitation", "post"],
      ["/v1/users/me/tokens", "get"],
      ["/v1/users/me/tokens", "post"],
      ["/v1/users/me/tokens/{id}", "delete"],
      ["/v1/clients", "get"],
      ["/v1/clients", "post"],
      ["/v1/clients/{id}", "patch"],
      ["/v1/clients/{id}/rotate", "post"],
      ["/v1/clients/{id}/revoke", "post"],
      ["/v1/settings/limits", "put"],
      ["/v1/settings/quota", "put"],
      ["/v1/usage", "get"],
      ["/v1/settings/predict", "get"],
      ["/v1/settings/predict", "put"],
      ["/v1/settings/sso", "get"],
      ["/v1/settings/sso", "put"],
      ["/v1/settings/saml", "get"],
      ["/v1/settings/saml", "put"],
      ["/v1/settings/monitoring", "put"],
      ["/v1/erasures", "post"],
      ["/v1/customers/{customerId}/export", "get"],
      ["/v1/monitoring/snapshot", "get"],
      ["/v1/monitoring/timeseries", "get"],
      ["/v1/monitoring/settings", "get"],
      ["/v1/models/{name}/versions/{version}/runs", "get"],
      ["/v1/models/{name}/versions/{version}/report", "get"],
      ["/v1/deployment/history", "get"],
      ["/v1/deployment/rollback", "post"],
      ["/v1/models/{name}/versions", "get"],
      ["/v1/models/{name}/versions", "post"],
      ["/v1/deployment", "get"],
      ["/v1/deployment", "put"],
      ["/v1/audit", "get"],
      ["/v1/audit/verify", "get"],
      ["/v1/audit/export", "get"],
      ["/v1/alerts", "get"],
      ["/v1/alerts/rules", "put"],
      ["/v1/webhooks", "post"],
      ["/v1/webhooks/{id}", "delete"],
      ["/v1/retraining/policy", "put"],
      ["/v1/retraining/jobs/claim", "post"],
      ["/v1/retraining/jobs/{id}/complete", "post"],
      ["/v1/candidates/{id}/promote", "post"],
    ] as const;
    for (const [path, method] of authenticated) {
      const op = doc.paths[path]![method]!;
      expect(op.security, `${method} ${path}`).toEqual([{ bearerAuth: [] }]);
      expect(Object.keys(op.responses), `${method} ${path}`).toEqual(expect.arrayContaining(["401", "403"]));
    }
    for (const [path, method] of [
      ["/metrics", "get"],
      ["/v1/health", "get"],
      ["/v1/oauth/token", "post"],
      ["/.well-known/jwks.json", "get"],
      ["/v1/saml/{tenantId}/metadata", "get"],
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

// ---------------------------------------------------------------------------------------------------------
// GET /metrics: Prometheus exposition, unauthenticated like the health routes

const scrape = async () => {
  const res = await h.request("/metrics");
  expect(res.status).toBe(200);
  return { res, text: await res.text() };
};

/** The value of the one sample named `name` whose labels include every pair in `labels`. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split("\n")) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`)))
      return Number(line.split(" ").at(-1));
  }
  return undefined;
}

describe("GET /metrics: happy", () => {
  it("serves the text exposition format with request, latency, token and registry metrics", async () => {
    const t = await h.newTenant();
    await t.clientToken(["predict"]);
    await h.request("/v1/users", { token: t.ownerToken });
    const { res, text } = await scrape();
    expect(res.headers.get("content-type")).toBe("text/plain; version=0.0.4; charset=utf-8");
    for (const [name, type] of [
      ["churn_http_requests_total", "counter"],
      ["churn_http_request_duration_seconds", "histogram"],
      ["churn_oauth_tokens_issued_total", "counter"],
      ["churn_tenants", "gauge"],
      ["churn_model_versions", "gauge"],
      ["churn_deployments", "gauge"],
    ]) {
      expect(text).toContain(`# TYPE ${name} ${type}\n`);
      expect(text).toContain(`# HELP ${name} `);
    }
    const users = { method: "GET", route: "/v1/users", status_class: "2xx" };
    expect(sample(text, "churn_http_requests_total", users)).toBe(1);
    expect(sample(text, "churn_http_request_duration_seconds_count", users)).toBe(1);
    expect(sample(text, "churn_http_request_duration_seconds_bucket", { ...users, le: "+Inf" })).toBe(1);
    expect(sample(text, "churn_oauth_tokens_issued_total")).toBeGreaterThanOrEqual(1);
    expect(sample(text, "churn_tenants")).toBeGreaterThanOrEqual(1);
    // Every sample line is `name{labels} value` with a numeric value.
    for (const line of text.split("\n").filter((l) => l && !l.startsWith("#"))) {
      expect(line).toMatch(/^[a-z_]+(\{[^}]*\})? (-?[0-9.e+-]+|\+Inf|NaN)$/);
    }
  });

  it("labels routes by their pattern, never the raw path, and all unknown paths as one route", async () => {
    const t = await h.newTenant();
    for (const name of ["a-model", "b-model", "c-model"]) {
      await h.request(`/v1/models/${name}/versions`, { token: t.ownerToken });
    }
    for (let i = 0; i < 3; i++) await h.request(`/v1/nope-${i}`);
    const { text } = await scrape();
    expect(
      sample(text, "churn_http_requests_total", { route: "/v1/models/:name/versions", status_class: "4xx" }),
    ).toBe(3);
    expect(
      sample(text, "churn_http_requests_total", { route: "unmatched", status_class: "4xx" }),
    ).toBeGreaterThanOrEqual(3);
    for (const raw of ["a-model", "nope-0", t.tenantId, t.ownerId]) expect(text).not.toContain(raw);
  });

  it("renders cumulative histogram buckets and escapes label values", () => {
    const hist = new Histogram("x_seconds", "help", ["route"], [0.1, 1]);
    for (const v of [0.05, 0.5, 5]) hist.observe({ route: 'a"b\\c\nd' }, v);
    const out = hist.render();
    expect(out).toContain('x_seconds_bucket{route="a\\"b\\\\c\\nd",le="0.1"} 1');
    expect(out).toContain('le="1"} 2');
    expect(out).toContain('le="+Inf"} 3');
    expect(out).toContain('x_seconds_sum{route="a\\"b\\\\c\\nd"} 5.55');
  });
});

describe("GET /metrics: error", () => {
  it("answers other methods with the 404 envelope", async () => {
    await expectError(await h.request("/metrics", { method: "POST" }), 404, "NOT_FOUND");
  });
});

describe("GET /metrics: security", () => {
  it("needs no credentials but exposes no tenant data, and bounds how many series a metric holds", async () => {
    const t = await h.newTenant("Secretive");
    await h.request("/v1/users", { token: t.ownerToken });
    const { text } = await scrape();
    for (const leak of [t.tenantId, t.ownerId, t.ownerToken, "Secretive"]) expect(text).not.toContain(leak);

    const counter = new Counter("c_total", "help", ["route"]);
    for (let i = 0; i < 2000; i++) counter.inc({ route: `/r${i}` });
    const lines = counter
      .render()
      .split("\n")
      .filter((l) => l.startsWith("c_total"));
    expect(lines.length).toBeLessThanOrEqual(501);
    expect(lines.some((l) => l.includes('route="overflow"'))).toBe(true);
  });
});
