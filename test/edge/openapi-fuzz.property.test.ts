import { env, SELF } from "cloudflare:test";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  type FuzzRequest,
  listOperations,
  type OpenApiDocument,
  type OperationRef,
  requestArbitrary,
  responseViolations,
  sentText,
  toRequestInit,
} from "../helpers/openapi-fuzz.ts";
import { customer, EDGE, fixtureManifest, newTenant } from "./harness.ts";

/**
 * Every operation in the edge's own OpenAPI document, fuzzed inside workerd as a tenant with a live model;
 * a second tenant's ids must never come back. The hand-written fuzz.property.test.ts stays beside this one.
 * FUZZ_RUNS reaches workerd as a binding (vitest.config.ts).
 */
const RUNS = Number(env.FUZZ_RUNS || 1000);
const SEED = Number(env.FUZZ_SEED || 42);

const doc = (await (await SELF.fetch(`${EDGE}/v1/openapi.json`)).json()) as OpenApiDocument;
const operations = listOperations(doc);

const a = await newTenant();
const aToken = await a.token({ scope: "predict feedback:write" });
const aPredictOnly = await a.token({ scope: "predict" });

// The bystander: a tree model of its own, and predictions whose ids A must never see.
const b = await newTenant({ kind: "tree" });
const bPredicted = (await (
  await b.predict({ records: [customer({ customerId: "bcust-7f3a9" })] })
).json()) as {
  predictions: { predictionId: string }[];
};
const foreign = [
  b.tenantId,
  b.production?.versionId ?? "",
  ...bPredicted.predictions.map((p) => p.predictionId),
  "bcust-7f3a9",
];

const aPredicted = (await (await a.predict({ records: [customer({ customerId: "acust-1" })] })).json()) as {
  predictions: { predictionId: string }[];
};

const features = fixtureManifest().features;

/** Records near the model's schema: real rows, rows with a feature missing or of the wrong type, extra keys. */
const nearRecords = fc.array(
  fc.oneof(
    fc.constant(customer()),
    fc
      .tuple(
        fc.constantFrom(...features.map((f) => f.name)),
        fc.constantFrom(null, "", "x", -1, 1e308, true, []),
      )
      .map(([name, value]) => customer({ [name]: value })),
    fc.constantFrom(...features.map((f) => f.name)).map((name) => {
      const { [name]: _dropped, ...rest } = customer();
      return rest;
    }),
    fc.string({ maxLength: 12 }).map((id) => customer({ customerId: id })),
  ),
  { minLength: 1, maxLength: 20 },
);

const records = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.array(
      fc.string({ maxLength: 12 }).map((id) => customer({ customerId: id })),
      { minLength: 1, maxLength: 20 },
    ),
  },
  { weight: 1, arbitrary: nearRecords },
);

function fieldValues(name: string): fc.Arbitrary<unknown> | undefined {
  switch (name) {
    case "records":
      return records;
    case "predictionId":
      return fc.constantFrom(...aPredicted.predictions.map((p) => p.predictionId), ...foreign.slice(2, 3));
    case "customerId":
      return fc.constantFrom("acust-1", "bcust-7f3a9");
    default:
      return undefined;
  }
}

type Credential = "full" | "predictOnly" | "none" | "garbage";
const credentials = fc.constantFrom<Credential>(
  ...(Array(16).fill("full") as Credential[]),
  "predictOnly",
  "predictOnly",
  "none",
  "garbage",
);

function authHeaders(ref: OperationRef, cred: Credential): Record<string, string> {
  if ((ref.operation.security ?? []).length === 0 || cred === "none") return {};
  if (cred === "garbage") return { authorization: "Bearer eyJhbGciOiJub25lIn0.e30." };
  return { authorization: `Bearer ${cred === "full" ? aToken : aPredictOnly}` };
}

async function send(ref: OperationRef, req: FuzzRequest, cred: Credential) {
  const auth = authHeaders(ref, cred);
  const res = await SELF.fetch(`${EDGE}${req.url}`, toRequestInit(req, auth));
  const text = await res.text();
  const problems = responseViolations({
    doc,
    operation: ref.operation,
    request: req,
    sent: sentText(req, auth),
    status: res.status,
    headers: res.headers,
    text,
    foreign,
  });
  return { res, text, problems };
}

describe(`edge: every OpenAPI operation, ${RUNS} generated requests each`, () => {
  it("every operation in the document gets a generator", () => {
    expect(operations.map((o) => o.key)).toEqual(
      expect.arrayContaining(["POST /v1/predict", "POST /v1/feedback", "GET /v1/models/live"]),
    );
    for (const ref of operations) expect(() => requestArbitrary(doc, ref), ref.key).not.toThrow();
  });

  for (const ref of operations) {
    it(
      ref.key,
      async () => {
        const started = performance.now();
        const statuses = new Map<number, number>();
        const arbitrary = requestArbitrary(doc, ref, { fieldValues });
        await fc.assert(
          fc.asyncProperty(arbitrary, credentials, async (req, cred) => {
            const { res, text, problems } = await send(ref, req, cred);
            statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
            if (problems.length > 0) {
              throw new Error(
                `${ref.key} → ${res.status}: ${problems.join("; ")}\n` +
                  `mutations: ${req.mutations.join(", ") || "none"}\nbody: ${text.slice(0, 500)}`,
              );
            }
          }),
          { numRuns: RUNS, seed: SEED },
        );
        const seconds = (performance.now() - started) / 1000;
        const byStatus = [...statuses].sort(([x], [y]) => x - y).map(([k, n]) => `${k}×${n}`);
        console.info(
          `${ref.key}: ${RUNS} cases in ${seconds.toFixed(1)} s (${Math.round(RUNS / seconds)}/s); ${byStatus.join(" ")}`,
        );
      },
      Math.max(300_000, RUNS * 300),
    );
  }
});
