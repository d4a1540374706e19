import { SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { listOperations, type OpenApiDocument, type OperationRef } from "../helpers/openapi-fuzz.ts";
import { customer, EDGE, newTenant } from "./harness.ts";
import { tokenAttacks } from "./token-attacks.ts";

/**
 * The shared attack list against every authenticated operation of the edge's own OpenAPI document, inside
 * workerd. Each request is otherwise valid (a real tenant with a live model, a schema-valid body), and the
 * genuine token is sent first as a control, so each 401 is due to the credential alone.
 */

const doc = (await (await SELF.fetch(`${EDGE}/v1/openapi.json`)).json()) as OpenApiDocument;
const secured = listOperations(doc).filter((op) =>
  (op.operation.security ?? []).some((requirement) => "bearerAuth" in requirement),
);

/** A body each authenticated operation accepts; an operation missing here fails the suite. */
const VALID_BODIES: Record<string, () => unknown> = {
  "POST /v1/predict": () => ({ records: [customer()] }),
  "POST /v1/feedback": () => ({ feedback: [{ customerId: "c-1", churned: true }] }),
};

function requestFor(op: OperationRef, authorization: string | undefined): Promise<Response> {
  if (/\{[^}]+\}/.test(op.path)) throw new Error(`${op.key}: no value for its path parameters`);
  const headers: Record<string, string> = authorization === undefined ? {} : { authorization };
  const init: RequestInit = { method: op.method, headers };
  if (op.operation.requestBody) {
    const body = VALID_BODIES[op.key];
    if (!body) throw new Error(`${op.key}: no request body to send`);
    headers["content-type"] = "application/json";
    init.body = JSON.stringify(body());
  }
  return SELF.fetch(`${EDGE}${op.path}`, init);
}

describe("token attacks on every authenticated edge route", () => {
  it("the document has authenticated operations, and each has a request", () => {
    expect(secured.map((op) => op.key).sort()).toEqual(
      expect.arrayContaining(["GET /v1/models/live", "POST /v1/feedback", "POST /v1/predict"]),
    );
    for (const op of secured) {
      if (op.operation.requestBody) expect(VALID_BODIES[op.key], op.key).toBeDefined();
    }
  });

  it("refuses every forged, expired or misdirected token on every operation with a 401 envelope", async () => {
    const tenant = await newTenant();
    const attacks = await tokenAttacks(tenant);
    const control = `Bearer ${await tenant.token()}`;
    let refused = 0;
    for (const op of secured) {
      const ok = await requestFor(op, control);
      expect(ok.status, `control for ${op.key}: ${await ok.text()}`).toBeLessThan(300);
      for (const [label, authorization] of attacks) {
        const res = await requestFor(op, authorization);
        const text = await res.text();
        const what = `${label} → ${op.key}: ${res.status} ${text}`;
        expect(res.status, what).toBe(401);
        const body = JSON.parse(text) as { error: { code: string; message: string; requestId: string } };
        expect(body.error.code, what).toBe("UNAUTHORIZED");
        expect(body.error.message, what).toBeTruthy();
        expect(body.error.requestId, what).toBeTruthy();
        expect(res.headers.get("x-request-id"), what).toBe(body.error.requestId);
        refused++;
      }
    }
    // Authentication comes before body parsing: a broken body with a bad credential is still a 401.
    const forged = attacks.find(([label]) => label === "foreign key with our kid")![1];
    for (const op of secured.filter((o) => o.operation.requestBody)) {
      for (const authorization of [undefined, forged]) {
        const res = await SELF.fetch(`${EDGE}${op.path}`, {
          method: op.method,
          headers: { "content-type": "application/json", ...(authorization ? { authorization } : {}) },
          body: '{"truncated": ',
        });
        expect(res.status, `broken body → ${op.key}: ${await res.text()}`).toBe(401);
      }
    }
    expect(refused).toBe(secured.length * attacks.length);
    console.log(
      `edge token attacks: ${secured.length} operations × ${attacks.length} attacks = ${refused} refused with 401`,
    );
  });
});
