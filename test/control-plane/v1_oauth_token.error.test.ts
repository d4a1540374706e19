import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  basicAuth,
  type ControlPlaneHarness,
  expectError,
  startControlPlane,
} from "../helpers/control-plane-harness.ts";

let h: ControlPlaneHarness;
beforeAll(async () => {
  h = await startControlPlane();
});
afterAll(() => h?.close());

const FORM = { "content-type": "application/x-www-form-urlencoded" };

function token(body: Record<string, string> | string, headers: Record<string, string> = FORM) {
  return h.request("/v1/oauth/token", {
    method: "POST",
    headers,
    body: typeof body === "string" ? body : new URLSearchParams(body).toString(),
  });
}

describe("POST /v1/oauth/token refuses bad requests", () => {
  it("refuses a scope the client was not granted with 400 invalid_scope naming it", async () => {
    const t = await h.newTenant();
    const c = await t.addApiClient(["predict"]);
    const res = await token(
      { grant_type: "client_credentials", scope: "predict models:publish" },
      { ...FORM, authorization: basicAuth(c.clientId, c.clientSecret) },
    );
    const body = await expectError(res, 400, "invalid_scope");
    expect(body.error.message).toContain("models:publish");
    expect(body.error.message).not.toContain("predict ");
  });

  it("refuses a scope that does not exist with 400 invalid_scope", async () => {
    const t = await h.newTenant();
    const c = await t.addApiClient(["predict"]);
    const res = await token(
      { grant_type: "client_credentials", scope: "admin" },
      { ...FORM, authorization: basicAuth(c.clientId, c.clientSecret) },
    );
    await expectError(res, 400, "invalid_scope");
  });

  it("refuses a wrong secret with 401 invalid_client and a Basic challenge", async () => {
    const t = await h.newTenant();
    const c = await t.addApiClient(["predict"]);
    const res = await token(
      { grant_type: "client_credentials" },
      { ...FORM, authorization: basicAuth(c.clientId, `${c.clientSecret}x`) },
    );
    await expectError(res, 401, "invalid_client");
    expect(res.headers.get("www-authenticate")).toBe('Basic realm="churn"');
  });

  it("refuses an unknown client with the same 401 invalid_client and message", async () => {
    const t = await h.newTenant();
    const c = await t.addApiClient(["predict"]);
    const unknown = await expectError(
      await token({ grant_type: "client_credentials", client_id: "cli_doesnotexist", client_secret: "x" }),
      401,
      "invalid_client",
    );
    const wrong = await expectError(
      await token({ grant_type: "client_credentials", client_id: c.clientId, client_secret: "x" }),
      401,
      "invalid_client",
    );
    // The answer must not reveal which client ids exist.
    expect(unknown.error.message).toBe(wrong.error.message);
  });

  it("refuses a request without credentials with 401 invalid_client", async () => {
    await expectError(await token({ grant_type: "client_credentials" }), 401, "invalid_client");
    await expectError(
      await token({ grant_type: "client_credentials", client_id: "cli_x" }),
      401,
      "invalid_client",
    );
  });

  it("refuses a Basic header without a colon or with broken percent-encoding with 401, not 500", async () => {
    for (const raw of ["no-colon-here", "%zz:secret", "cli_x:%E0%A4%A"]) {
      const res = await token(
        { grant_type: "client_credentials" },
        { ...FORM, authorization: `Basic ${Buffer.from(raw).toString("base64")}` },
      );
      await expectError(res, 401, "invalid_client");
    }
    expect(h.logs.filter((l) => l["level"] === "error")).toEqual([]);
  });

  it("refuses grant types other than client_credentials with 400 unsupported_grant_type", async () => {
    const t = await h.newTenant();
    const c = await t.addApiClient(["predict"]);
    for (const grant of ["password", "authorization_code", "refresh_token", ""]) {
      const res = await token(
        { grant_type: grant, client_id: c.clientId, client_secret: c.clientSecret },
        FORM,
      );
      await expectError(res, 400, "unsupported_grant_type");
    }
  });

  it("refuses a request without grant_type with 400 invalid_request naming the field", async () => {
    const body = await expectError(
      await token({ client_id: "cli_x", client_secret: "x" }),
      400,
      "invalid_request",
    );
    expect(body.error.issues?.map((i) => i.path)).toContain("grant_type");
  });

  it("refuses oversized fields with 400 invalid_request", async () => {
    const body = await expectError(
      await token({ grant_type: "client_credentials", client_id: "c".repeat(129), client_secret: "x" }),
      400,
      "invalid_request",
    );
    expect(body.error.issues?.map((i) => i.path)).toContain("client_id");
  });

  it("answers 415 for bodies that are not application/x-www-form-urlencoded (RFC 6749 §4.4.2)", async () => {
    const t = await h.newTenant();
    const c = await t.addApiClient(["predict"]);
    const fields = { grant_type: "client_credentials", client_id: c.clientId, client_secret: c.clientSecret };
    const json = await expectError(
      await token(JSON.stringify(fields), { "content-type": "application/json" }),
      415,
      "UNSUPPORTED_MEDIA_TYPE",
    );
    expect(json.error.message).toContain("application/x-www-form-urlencoded");
    await expectError(
      await token(new URLSearchParams(fields).toString(), { "content-type": "text/plain" }),
      415,
      "UNSUPPORTED_MEDIA_TYPE",
    );
    const multipart = new FormData();
    for (const [k, v] of Object.entries(fields)) multipart.set(k, v);
    await expectError(
      await h.request("/v1/oauth/token", { method: "POST", body: multipart }),
      415,
      "UNSUPPORTED_MEDIA_TYPE",
    );
    await expectError(
      await h.request("/v1/oauth/token", { method: "POST", body: new URLSearchParams(fields).toString() }),
      415,
      "UNSUPPORTED_MEDIA_TYPE",
    );
  });

  it("answers 404 for GET (only POST is routed)", async () => {
    await expectError(await h.request("/v1/oauth/token"), 404, "NOT_FOUND");
  });
});
