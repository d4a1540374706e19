import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  SAML_ACS_MAX_BYTES,
  SAML_ACS_PATH,
} from "../../control-plane/src/modules/console/routes/console_saml_acs.ts";
import { INGEST_MAX_BYTES } from "../../control-plane/src/modules/monitoring/routes/v1_ingest_events.ts";
import { publishMaxBytes } from "../../control-plane/src/modules/registry/routes/v1_models_versions_create.ts";
import { ADMIN_JSON_MAX_BYTES } from "../../control-plane/src/platform/http/body-limits.ts";
import {
  type ControlPlaneHarness,
  type ErrorBody,
  startControlPlane,
} from "../helpers/control-plane-harness.ts";

const MAX_MODEL_BYTES = 1024 * 1024;
let h: ControlPlaneHarness;
beforeAll(async () => {
  h = await startControlPlane({ MAX_MODEL_BYTES: String(MAX_MODEL_BYTES) });
});
afterAll(() => h?.close());

/** Every route that takes a body, as the app has them registered (the console's forms included). */
function routesWithBodies(): { method: string; path: string }[] {
  const seen = new Map<string, { method: string; path: string }>();
  for (const route of h.app.routes) {
    if (["ALL", "GET", "HEAD", "OPTIONS"].includes(route.method) || route.path.includes("*")) continue;
    seen.set(`${route.method} ${route.path}`, { method: route.method, path: route.path });
  }
  return [...seen.values()];
}

const ceilingOf = (method: string, path: string) =>
  method === "POST" && path === "/v1/models/:name/versions"
    ? publishMaxBytes(MAX_MODEL_BYTES)
    : method === "POST" && path === "/v1/ingest/events"
      ? INGEST_MAX_BYTES
      : method === "POST" && SAML_ACS_PATH.test(path)
        ? SAML_ACS_MAX_BYTES
        : ADMIN_JSON_MAX_BYTES;

const contentTypeOf = (path: string) =>
  path === "/v1/oauth/token" || path.startsWith("/console/")
    ? "application/x-www-form-urlencoded"
    : path.endsWith("/versions")
      ? "multipart/form-data; boundary=x"
      : "application/json";

describe("body limits before parsing", () => {
  it("covers the routes a stranger can reach without credentials", () => {
    const routes = routesWithBodies().map((r) => `${r.method} ${r.path}`);
    expect(routes).toContain("POST /v1/oauth/token");
    expect(routes).toContain("POST /console/sign-in");
    expect(routes).toContain("POST /console/saml/:tenantId/acs");
    expect(routes.length).toBeGreaterThan(35);
  });

  it("answers 413 in the error envelope on every route for one byte over its ceiling, with no credentials", async () => {
    const refusedOtherwise: string[] = [];
    for (const { method, path } of routesWithBodies()) {
      const url = path.replace(/:[A-Za-z]+/g, "some_id");
      const res = await h.request(url, {
        method,
        headers: { "content-type": contentTypeOf(path), accept: "application/json" },
        body: new Uint8Array(ceilingOf(method, path) + 1),
      });
      if (res.status !== 413) {
        refusedOtherwise.push(`${method} ${path}: ${res.status}`);
        continue;
      }
      const body = (await res.json()) as ErrorBody;
      expect(body.error.code).toBe("PAYLOAD_TOO_LARGE");
      expect(body.error.requestId).toBeTruthy();
    }
    expect(refusedOtherwise).toEqual([]);
  });

  it("stops a chunked body with no Content-Length as it streams past the ceiling", async () => {
    for (const path of ["/v1/oauth/token", "/console/sign-in", "/console/saml/tnt_someone000000/acs"]) {
      let sent = 0;
      const chunk = new Uint8Array(16 * 1024).fill(0x61);
      const body = new ReadableStream<Uint8Array>({
        pull(controller) {
          // 64 MiB on offer; the server must stop reading long before.
          if (sent >= 64 * 1024 * 1024) return controller.close();
          sent += chunk.length;
          controller.enqueue(chunk);
        },
      });
      const res = await h.request(path, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded", accept: "application/json" },
        body,
        duplex: "half",
      } as RequestInit);
      expect(res.status, path).toBe(413);
      expect(sent, path).toBeLessThan(1024 * 1024);
    }
  });

  it("lets a body at the ceiling through to the route's own checks", async () => {
    const form = `grant_type=client_credentials&client_id=${"a".repeat(ADMIN_JSON_MAX_BYTES - 60)}`;
    const res = await h.request("/v1/oauth/token", {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: form,
    });
    expect(form.length).toBeLessThanOrEqual(ADMIN_JSON_MAX_BYTES);
    expect(res.status).not.toBe(413);
    expect(res.status).toBeLessThan(500);
  });
});
