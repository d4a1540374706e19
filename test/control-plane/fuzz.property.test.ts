import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { SIGNATURE_HEADER, signBody } from "#shared/signature.ts";
import { ALL_SCOPES, basicAuth, startControlPlane } from "../helpers/control-plane-harness.ts";
import {
  bodyText,
  type FuzzRequest,
  listOperations,
  type OpenApiDocument,
  type OperationRef,
  requestArbitrary,
  responseViolations,
  sentText,
  toRequestInit,
} from "../helpers/openapi-fuzz.ts";

/**
 * Every operation in the control plane's own OpenAPI document, fuzzed as tenant A with broad rights, with
 * path ids sometimes drawn from tenant B. Routes added later are covered without touching this file.
 */
const RUNS = Number(process.env.FUZZ_RUNS ?? 1000);
const SEED = Number(process.env.FUZZ_SEED ?? 42);

const INGEST_SECRET = "fuzz-ingest-secret-0123456789abcdef";
const OPERATOR_TOKEN = "fuzz-operator-token-0123456789abcdef0123456789";

/**
 * The database lives in memory-backed storage when the host has it: the run commits tens of thousands of
 * write transactions, and an fsync per commit would be most of its time.
 */
const ramDir = existsSync("/dev/shm") ? await mkdtemp(join("/dev/shm", "churn-fuzz-")) : undefined;
const h = await startControlPlane({
  INGEST_SECRET,
  OPERATOR_TOKEN,
  ...(ramDir ? { DATABASE_URL: `file:${join(ramDir, "cp.db")}` } : {}),
});
afterAll(async () => {
  await h.close();
  if (ramDir) await rm(ramDir, { recursive: true, force: true });
});

const doc = (await (await h.request("/v1/openapi.json")).json()) as OpenApiDocument;
const fixture = await h.fixture(7);

// Tenant A: the caller. Its owner PAT and an all-scopes client token are the broad credentials.
const a = await h.newTenant("Caller");
const aVersion = await a.publish(fixture, "churn");
await a.deploy(aVersion.id);
const aAnalyst = await a.addUser("analyst");
const aTarget = await a.addApiClient(["predict"], "fuzz-target");
const aExchange = await a.addApiClient(ALL_SCOPES, "fuzz-exchange");
const aClientToken = await a.clientToken(ALL_SCOPES);
const aPat = (await (
  await h.request("/v1/users/me/tokens", {
    method: "POST",
    token: a.ownerToken,
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ name: "fuzz-target", ttlDays: 1 }),
  })
).json()) as { id: string };

// Tenant B: everything of it is secret to A.
const bSuffix = crypto.randomUUID().slice(0, 8);
const b = await h.newTenant(`Bystander${bSuffix}`);
const bModel = `bmodel-${bSuffix}`;
const bVersion = await b.publish(fixture, bModel);
await b.deploy(bVersion.id);
const bUser = await b.addUser("analyst");
const bClient = await b.addApiClient(["predict"], `bclient-${bSuffix}`);
const bPat = (await (
  await h.request("/v1/users/me/tokens", {
    method: "POST",
    token: b.ownerToken,
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ name: `bpat-${bSuffix}`, ttlDays: 1 }),
  })
).json()) as { id: string; token: string };

// A scored customer of each tenant, for the routes that name one.
const aCustomer = "cus-fuzz-caller";
const bCustomer = `cus-${bSuffix}`;
for (const [tenant, customerId, versionId] of [
  [a.tenantId, aCustomer, aVersion.id],
  [b.tenantId, bCustomer, bVersion.id],
] as const) {
  const delivered = await h.ingest([
    {
      type: "prediction",
      eventId: crypto.randomUUID(),
      tenantId: tenant,
      at: new Date().toISOString(),
      versionId,
      version: 1,
      variant: "production",
      predictions: [{ predictionId: crypto.randomUUID(), customerId, probability: 0.5, contact: true }],
    },
  ]);
  expect(delivered.status).toBe(200);
}

const foreign = [
  b.tenantId,
  b.ownerId,
  bUser.userId,
  bClient.clientId,
  bClient.clientSecret,
  bVersion.id,
  bModel,
  bSuffix,
  bPat.id,
  bPat.token,
  b.ownerToken,
  bUser.token,
];
const knownSecrets = [a.ownerToken, aExchange.clientSecret, aTarget.clientSecret, ...foreign];

/** Real ids of both tenants for each kind of path parameter, beside the generated ones. */
function pathValues(ref: OperationRef) {
  return (name: string): fc.Arbitrary<string> | undefined => {
    if (name === "name") return fc.constantFrom("churn", bModel);
    if (name === "version") return fc.constantFrom("1", "2", String(bVersion.version));
    if (name === "customerId") return fc.constantFrom(aCustomer, bCustomer);
    if (name !== "id") return undefined;
    if (ref.path.startsWith("/v1/users/me/tokens")) return fc.constantFrom(aPat.id, bPat.id);
    if (ref.path.startsWith("/v1/users")) return fc.constantFrom(aAnalyst.userId, bUser.userId, b.ownerId);
    if (ref.path.startsWith("/v1/clients")) return fc.constantFrom(aTarget.clientId, bClient.clientId);
    return fc.constantFrom(aVersion.id, bVersion.id, bClient.clientId, bUser.userId);
  };
}

/** Real values for body fields, so valid requests get past lookups to the handler's work. */
function fieldValues(name: string): fc.Arbitrary<unknown> | undefined {
  switch (name) {
    case "grant_type":
      return fc.constant("client_credentials");
    case "scope":
      return fc.constantFrom("predict", "predict feedback:write", ALL_SCOPES.join(" "), "users:write");
    case "production":
    case "versionId":
      return fc.constantFrom(aVersion.id, bVersion.id);
    case "shadows":
      return fc.constantFrom([], [aVersion.id], [bVersion.id]);
    case "manifest":
      return fc.constantFrom(
        fixture.manifestText,
        fixture.manifestText.replace(/"threshold":[^,]+/, '"threshold":2'),
      );
    case "runs":
      return fc.constantFrom(
        "[]",
        JSON.stringify([{ family: "gbdt", params: { depth: 3 }, cvMetrics: { auc: 0.8 }, seconds: 1.5 }]),
      );
    case "model":
      return fc.constant(fixture.bytes);
    case "explainer":
      return fixture.explainer ? fc.constant(fixture.explainer) : undefined;
    case "userId":
      return fc.constantFrom(aAnalyst.userId, bUser.userId);
    case "clientId":
      return fc.constantFrom(aTarget.clientId, bClient.clientId);
    case "issuer":
      return fc.constantFrom("https://idp.example.test", "https://login.example.test/realms/acme");
    default:
      return undefined;
  }
}

type Credential = "primary" | "alternate" | "none" | "garbage";
const credentials = fc.constantFrom<Credential>(
  ...(Array(16).fill("primary") as Credential[]),
  "alternate",
  "alternate",
  "none",
  "garbage",
);
/** Each success rotates the platform's signing key (~50 ms): a quarter of the cases carry the operator token. */
const operatorCredentials = fc.constantFrom<Credential>("primary", "none", "garbage", "alternate");

/**
 * Leaks found by this suite in code still being written, reported to its authors: the foreign-data check is
 * left out of the main property for these operations, and a test that expects the leak keeps it visible
 * (it fails once the leak is fixed, and then this entry goes).
 */
const KNOWN_LEAKS: Record<string, string> = {};

/** The auth each kind of route takes: bearer (owner PAT or client token), operator, Basic, HMAC. */
async function authHeaders(
  ref: OperationRef,
  req: FuzzRequest,
  cred: Credential,
): Promise<Record<string, string>> {
  if (cred === "none") return {};
  if (cred === "garbage") return { authorization: "Bearer churn_pat_not-a-real-token" };
  const schemes = (ref.operation.security ?? []).flatMap((s) => Object.keys(s));
  if (schemes.includes("operatorAuth")) {
    return cred === "primary"
      ? { authorization: `Bearer ${OPERATOR_TOKEN}` }
      : { authorization: `Bearer ${aClientToken}` };
  }
  if (schemes.includes("bearerAuth")) {
    return { authorization: `Bearer ${cred === "primary" ? a.ownerToken : aClientToken}` };
  }
  if (ref.path === "/v1/oauth/token") {
    return cred === "primary" ? { authorization: basicAuth(aExchange.clientId, aExchange.clientSecret) } : {};
  }
  if (ref.path === "/v1/ingest/events") {
    const body = bodyText(req);
    return { [SIGNATURE_HEADER]: cred === "primary" ? await signBody(INGEST_SECRET, body) : "t=1,v1=00" };
  }
  return {};
}

const operations = listOperations(doc);

async function send(ref: OperationRef, req: FuzzRequest, cred: Credential, foreignData: string[]) {
  const auth = await authHeaders(ref, req, cred);
  const res = await h.app.request(req.url, toRequestInit(req, auth));
  const text = await res.text();
  const problems = responseViolations({
    doc,
    operation: ref.operation,
    request: req,
    sent: sentText(req, auth),
    status: res.status,
    headers: res.headers,
    text,
    foreign: foreignData,
    knownSecrets,
  });
  return { res, text, problems };
}

/**
 * One test per operation, a few at a time (they wait on scrypt, KV and the database more than on the CPU).
 */
function fuzzOperations(refs: OperationRef[]) {
  for (const ref of refs) {
    it.concurrent(
      ref.key,
      async () => {
        const started = performance.now();
        const statuses = new Map<number, number>();
        const arbitrary = requestArbitrary(doc, ref, { pathValues: pathValues(ref), fieldValues });
        const creds = ref.operation.security?.some((s) => "operatorAuth" in s)
          ? operatorCredentials
          : credentials;
        const foreignData = ref.key in KNOWN_LEAKS ? [] : foreign;
        await fc.assert(
          fc.asyncProperty(arbitrary, creds, async (req, cred) => {
            const { res, text, problems } = await send(ref, req, cred, foreignData);
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
}

describe(`control plane: every OpenAPI operation, ${RUNS} generated requests each`, () => {
  it("the document lists the routes this suite depends on, and every operation gets a generator", () => {
    const keys = operations.map((o) => o.key);
    expect(keys).toEqual(
      expect.arrayContaining([
        "POST /v1/oauth/token",
        "POST /v1/ingest/events",
        "POST /v1/admin/keys/rotate",
        "POST /v1/models/{name}/versions",
      ]),
    );
    for (const ref of operations) expect(() => requestArbitrary(doc, ref), ref.key).not.toThrow();
  });

  // Reads first, on their own: every mutation appends to tenant A's audit chain, and /v1/audit/verify
  // re-hashes the whole chain per call, so reading beside thousands of mutations would dominate the run.
  describe("reads", () => fuzzOperations(operations.filter((o) => o.method === "GET")));
  describe("writes", () => fuzzOperations(operations.filter((o) => o.method !== "GET")));

  for (const [key, leak] of Object.entries(KNOWN_LEAKS)) {
    const ref = operations.find((o) => o.key === key);
    it.fails(`known leak, reported: ${key}: ${leak}`, async () => {
      if (!ref) throw new Error(`${key} is no longer in the document`);
      const { problems } = await send(
        ref,
        { method: ref.method, url: ref.path, headers: {}, mutations: [] },
        "none",
        foreign,
      );
      expect(problems).toEqual([]);
    });
  }
});
