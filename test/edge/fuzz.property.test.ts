import { SELF } from "cloudflare:test";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { customer, EDGE, newTenant } from "./harness.ts";

/** Generated bodies per route; CI runs this many, a nightly fuzz run can raise it. */
const RUNS = 1000;

const contentTypes = fc.constantFrom(
  "application/json",
  "application/json; charset=utf-8",
  "text/plain",
  "application/x-www-form-urlencoded",
  "multipart/form-data; boundary=x",
  "",
);

/** Values that stress parsers: deep nesting, huge arrays, odd numbers, prototype keys, long strings. */
const nasty = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: "small" },
    fc.jsonValue(),
    fc.constantFrom(null, true, -0, 1e308, -1e308, 5e-324, "", "\u0000", "__proto__", "x".repeat(5000)),
    fc.array(tie("value"), { maxLength: 5 }),
    fc.dictionary(
      fc.constantFrom("__proto__", "constructor", "prototype", "records", "explain", "tenure"),
      tie("value"),
      {
        maxKeys: 4,
      },
    ),
  ),
})).value;

function deepNest(depth: number): string {
  return `${"[".repeat(depth)}1${"]".repeat(depth)}`;
}

const bodies = fc.oneof(
  nasty.map((v) => JSON.stringify(v)),
  fc.record({ records: fc.array(nasty, { maxLength: 20 }), explain: nasty }).map((v) => JSON.stringify(v)),
  fc
    .array(fc.dictionary(fc.string({ maxLength: 12 }), nasty, { maxKeys: 25 }), {
      minLength: 1,
      maxLength: 30,
    })
    .map((records) => JSON.stringify({ records: records.map((r) => ({ ...customer(), ...r })) })),
  fc
    .integer({ min: 1001, max: 1500 })
    .map((n) => JSON.stringify({ records: Array.from({ length: n }, () => ({})) })),
  fc.integer({ min: 100, max: 5000 }).map(deepNest),
  fc.string({ maxLength: 200 }),
  fc.uint8Array({ maxLength: 200 }).map((bytes) => new TextDecoder().decode(bytes)),
);

async function expectClientError(path: string, token: string, body: string, contentType: string) {
  const res = await SELF.fetch(`${EDGE}${path}`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, ...(contentType ? { "content-type": contentType } : {}) },
    body,
  });
  const text = await res.text();
  if (res.status >= 500)
    throw new Error(`${res.status} for ${contentType} ${body.slice(0, 200)}: ${text.slice(0, 300)}`);
  if (res.status >= 400) {
    const envelope = JSON.parse(text) as { error: { code: string; message: string; requestId: string } };
    expect(envelope.error.code).toMatch(/^[A-Za-z_]+$/);
    expect(envelope.error.requestId).toBeTruthy();
    expect(text).not.toMatch(/at .+\.(ts|js):\d+/); // no stack traces
  }
}

describe("property-based fuzzing: nothing a client sends gives a 5xx", () => {
  it(`POST /v1/predict with ${RUNS} generated bodies`, async () => {
    const tenant = await newTenant();
    const token = await tenant.token();
    await fc.assert(
      fc.asyncProperty(bodies, contentTypes, (body, type) =>
        expectClientError("/v1/predict", token, body, type),
      ),
      { numRuns: RUNS, seed: 42 },
    );
  });

  it(`POST /v1/feedback with ${RUNS} generated bodies`, async () => {
    const tenant = await newTenant();
    const token = await tenant.token();
    const feedbackBodies = fc.oneof(
      bodies,
      fc
        .array(
          fc.dictionary(
            fc.constantFrom("customerId", "predictionId", "churned", "observedAt", "__proto__"),
            nasty,
          ),
          {
            maxLength: 30,
          },
        )
        .map((feedback) => JSON.stringify({ feedback })),
    );
    await fc.assert(
      fc.asyncProperty(feedbackBodies, contentTypes, (body, type) =>
        expectClientError("/v1/feedback", token, body, type),
      ),
      { numRuns: RUNS, seed: 42 },
    );
  });
});
