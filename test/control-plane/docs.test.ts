import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ControlPlaneHarness, startControlPlane } from "../helpers/control-plane-harness.ts";

let h: ControlPlaneHarness;
beforeAll(async () => {
  h = await startControlPlane();
});
afterAll(() => h?.close());

describe("GET /docs: the OpenAPI page, self-contained", () => {
  it("serves HTML under a strict CSP that loads only same-origin assets", async () => {
    const res = await h.request("/docs");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/html/);
    expect(res.headers.get("content-security-policy")).toBe(
      "default-src 'self'; script-src 'self'; style-src 'self'",
    );
    const html = await res.text();
    expect(html).not.toMatch(/https?:\/\//);
    expect(html).toContain('src="/docs/app.js"');
    expect(html).toContain('href="/docs/app.css"');
    // No inline script or style: the CSP would block them.
    expect(html).not.toMatch(/<script>(?!<\/script>)|<style|style="/);
  });

  it("serves the script and stylesheet with their content types; the script reads the OpenAPI document", async () => {
    const js = await h.request("/docs/app.js");
    expect(js.status).toBe(200);
    expect(js.headers.get("content-type")).toMatch(/^text\/javascript/);
    const script = await js.text();
    expect(script).toContain("/v1/openapi.json");
    expect(script).not.toMatch(/https?:\/\//);

    const css = await h.request("/docs/app.css");
    expect(css.status).toBe(200);
    expect(css.headers.get("content-type")).toMatch(/^text\/css/);
    expect(await css.text()).not.toMatch(/https?:\/\/|@import/);
  });

  it("leaves the OpenAPI document without the docs routes", async () => {
    const doc = (await (await h.request("/v1/openapi.json")).json()) as { paths: Record<string, unknown> };
    expect(Object.keys(doc.paths).filter((p) => p.startsWith("/docs"))).toEqual([]);
  });
});
