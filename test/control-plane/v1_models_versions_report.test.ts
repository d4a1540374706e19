import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MAX_REPORT_BYTES, modelVersionSchema, publishResponseSchema } from "#shared/registry.ts";
import { listen } from "../../control-plane/src/control-plane.ts";
import { modelVersionArtifacts, modelVersions } from "../../control-plane/src/platform/db/schema/index.ts";
import { publishModelDir } from "../../trainer/src/remote/control-plane-client.ts";
import {
  type ControlPlaneHarness,
  expectAuthRequired,
  expectError,
  type Fixture,
  publishForm,
  startControlPlane,
  withManifest,
} from "../helpers/control-plane-harness.ts";

const REPORT_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; sandbox";

let h: ControlPlaneHarness;
let m1: Fixture;
let m2: Fixture;
/** The report.html `churn train` wrote beside m1. */
let report: Uint8Array;
beforeAll(async () => {
  h = await startControlPlane({ MAX_MODEL_BYTES: String(8 * 1024 * 1024) });
  [m1, m2] = await Promise.all([h.fixture(7), h.fixture(8)]);
  report = new Uint8Array(await readFile(join(m1.dir, "report.html")));
});
afterAll(() => h?.close());

function reportPart(bytes: Uint8Array | string, type = "text/html; charset=utf-8"): Blob {
  return new Blob([bytes as BlobPart], { type });
}

function publish(
  token: string,
  fixture: Fixture,
  reportField?: Blob | string,
  name = "churn",
): Promise<Response> {
  const form = publishForm(
    withManifest(fixture.manifestText, (m) => ({ ...m, name })),
    fixture.bytes,
    fixture.explainer,
  );
  if (reportField instanceof Blob) form.set("report", reportField, "report.html");
  else if (reportField !== undefined) form.set("report", reportField);
  return h.request(`/v1/models/${name}/versions`, { method: "POST", token, body: form });
}

const getReport = (token: string, version: number, name = "churn") =>
  h.request(`/v1/models/${name}/versions/${version}/report`, { token });

async function storedVersions(tenantId: string) {
  return h.deps.db.select().from(modelVersions).where(eq(modelVersions.tenantId, tenantId));
}

describe("publish with a report", () => {
  it("stores report.html with the version, says so in hasReport, and serves it back byte for byte", async () => {
    const t = await h.newTenant();
    const res = await publish(t.ownerToken, m1, reportPart(report));
    expect(res.status).toBe(201);
    const { version } = publishResponseSchema.parse(await res.json());
    expect(version.hasReport).toBe(true);
    const [artifact] = await h.deps.db
      .select()
      .from(modelVersionArtifacts)
      .where(eq(modelVersionArtifacts.modelVersionId, version.id));
    expect(new Uint8Array(artifact!.report!)).toEqual(report);

    const served = await getReport(await t.tokenFor("analyst"), 1);
    expect(served.status).toBe(200);
    expect(served.headers.get("content-type")).toBe("text/html; charset=utf-8");
    expect(served.headers.get("content-security-policy")).toBe(REPORT_CSP);
    expect(served.headers.get("x-content-type-options")).toBe("nosniff");
    expect(served.headers.get("cache-control")).toMatch(/^private, max-age=\d+, immutable$/);
    expect(served.headers.get("vary")?.toLowerCase()).toContain("authorization");
    const body = new Uint8Array(await served.arrayBuffer());
    expect(body).toEqual(report);
    const text = new TextDecoder().decode(body);
    expect(text).toContain("ROC-AUC");
    expect(text).not.toMatch(/<script/i);

    // A client with the models:read scope reads it too.
    expect((await getReport(await t.clientToken(["models:read"]), 1)).status).toBe(200);
  });

  it("lists hasReport per version: true only for the version published with one", async () => {
    const t = await h.newTenant();
    expect((await publish(t.ownerToken, m1)).status).toBe(201);
    expect((await publish(t.ownerToken, m2, reportPart(report))).status).toBe(201);
    const res = await h.request("/v1/models/churn/versions", { token: t.ownerToken });
    const { versions } = (await res.json()) as { versions: unknown[] };
    const parsed = versions.map((v) => modelVersionSchema.parse(v));
    expect(parsed.map((v) => [v.version, v.hasReport])).toEqual([
      [2, true],
      [1, false],
    ]);
  });

  it("churn publish sends report.html from the training output folder", async () => {
    const t = await h.newTenant();
    const server = await listen(h.app, "127.0.0.1", 0);
    const published = await publishModelDir({ url: server.url, token: t.ownerToken }, m1.dir).finally(() =>
      server.close(),
    );
    expect(published.created).toBe(true);
    expect(published.version.hasReport).toBe(true);
    const served = await getReport(t.ownerToken, published.version.version);
    expect(new Uint8Array(await served.arrayBuffer())).toEqual(report);
  });

  it("keeps a version immutable: re-publishing its bytes with a report does not attach one", async () => {
    const t = await h.newTenant();
    expect((await publish(t.ownerToken, m1)).status).toBe(201);
    const again = await publish(t.ownerToken, m1, reportPart(report));
    expect(again.status).toBe(200);
    const body = publishResponseSchema.parse(await again.json());
    expect(body.created).toBe(false);
    expect(body.version.hasReport).toBe(false);
    await expectError(await getReport(t.ownerToken, 1), 404, "NOT_FOUND");
  });
});

describe("GET /v1/models/{name}/versions/{version}/report: errors", () => {
  it("answers 404 saying the version was published without a report", async () => {
    const t = await h.newTenant();
    const { version } = publishResponseSchema.parse(await (await publish(t.ownerToken, m1)).json());
    expect(version.hasReport).toBe(false);
    const body = await expectError(await getReport(t.ownerToken, 1), 404, "NOT_FOUND");
    expect(body.error.message).toContain("published without a report");
  });

  it("answers 404 for an unknown version or model, 400 for a version that is not a number", async () => {
    const t = await h.newTenant();
    await publish(t.ownerToken, m1, reportPart(report));
    const unknownVersion = await expectError(await getReport(t.ownerToken, 2), 404, "NOT_FOUND");
    expect(unknownVersion.error.message).toContain("no version 2");
    await expectError(await getReport(t.ownerToken, 1, "other"), 404, "NOT_FOUND");
    await expectError(
      await h.request("/v1/models/churn/versions/latest/report", { token: t.ownerToken }),
      400,
      "INVALID_REQUEST",
    );
  });
});

describe("publish: a bad report field", () => {
  const cases: [string, () => Blob | string, number, string][] = [
    ["a JSON file", () => reportPart('{"a":1}', "application/json"), 400, "text/html"],
    ["HTML in another charset", () => reportPart(report, "text/html; charset=iso-8859-1"), 400, "UTF-8"],
    ["bytes that are not UTF-8", () => reportPart(new Uint8Array([0x3c, 0x68, 0xff, 0xfe])), 400, "UTF-8"],
    ["text that is not an HTML document", () => reportPart("just some text"), 400, "HTML document"],
    ["an empty file", () => reportPart(""), 400, "HTML document"],
    ["a text field that is not HTML", () => "plain", 400, "HTML document"],
    [
      "a report over the limit",
      () => reportPart(`<!doctype html><p>${"x".repeat(MAX_REPORT_BYTES)}</p>`),
      413,
      `${MAX_REPORT_BYTES}`,
    ],
  ];
  for (const [what, make, status, mention] of cases) {
    it(`refuses ${what} with ${status}, naming the field, and stores nothing`, async () => {
      const t = await h.newTenant();
      const body = await expectError(
        await publish(t.ownerToken, m1, make()),
        status,
        status === 413 ? "PAYLOAD_TOO_LARGE" : "INVALID_REQUEST",
      );
      expect(body.error.message).toContain("'report'");
      expect(body.error.message).toContain(mention);
      expect(body.error.issues?.[0]?.path).toBe("report");
      expect(await storedVersions(t.tenantId)).toEqual([]);
    });
  }

  it("accepts a report sent as a text field", async () => {
    const t = await h.newTenant();
    const res = await publish(t.ownerToken, m1, new TextDecoder().decode(report));
    expect(res.status).toBe(201);
    expect(publishResponseSchema.parse(await res.json()).version.hasReport).toBe(true);
    // Multipart text fields travel with CRLF line breaks; the document is otherwise the same.
    const served = await (await getReport(t.ownerToken, 1)).text();
    expect(served.replaceAll("\r\n", "\n")).toBe(new TextDecoder().decode(report));
  });
});

describe("GET /v1/models/{name}/versions/{version}/report: security", () => {
  it("requires a valid token", async () => {
    await expectAuthRequired(h, "GET", "/v1/models/churn/versions/1/report");
  });

  it("never serves another tenant's report: the same path is the caller's own model or 404", async () => {
    const a = await h.newTenant("A");
    const b = await h.newTenant("B");
    const c = await h.newTenant("C");
    await publish(a.ownerToken, m1, reportPart(report));
    await publish(b.ownerToken, m2);
    // B has its own churn v1, without a report: it hears about that one, not A's.
    const own = await expectError(await getReport(b.ownerToken, 1), 404, "NOT_FOUND");
    expect(own.error.message).toContain("published without a report");
    // C has no model at all.
    await expectError(await getReport(c.ownerToken, 1), 404, "NOT_FOUND");
    expect((await getReport(a.ownerToken, 1)).status).toBe(200);
  });

  it("refuses a role or scope without models:read with 403", async () => {
    const t = await h.newTenant();
    await publish(t.ownerToken, m1, reportPart(report));
    await expectError(await getReport(await t.clientToken(["predict"]), 1), 403, "INSUFFICIENT_SCOPE");
  });
});
