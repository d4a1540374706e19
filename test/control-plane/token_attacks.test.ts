import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { newId } from "#shared/ids.ts";
import type { Manifest } from "#shared/manifest.ts";
import { TOKEN_ALG } from "#shared/oauth.ts";
import { retrainingPolicySchema } from "#shared/retraining.ts";
import { createWebhook } from "../../control-plane/src/modules/alerts/webhooks.ts";
import type { AuditContext } from "../../control-plane/src/modules/audit/audit.ts";
import { createPat } from "../../control-plane/src/modules/identity/pat.ts";
import { ingestEvents } from "../../control-plane/src/modules/monitoring/ingest.ts";
import { publishModelVersion } from "../../control-plane/src/modules/registry/registry.ts";
import { completeJob } from "../../control-plane/src/modules/retraining/candidates.ts";
import { claimJob, requestJobInTx } from "../../control-plane/src/modules/retraining/jobs.ts";
import { putRetrainingPolicy } from "../../control-plane/src/modules/retraining/policy.ts";
import { writeTransaction } from "../../control-plane/src/platform/db/write-transaction.ts";
import {
  ALL_SCOPES,
  basicAuth,
  type ControlPlaneHarness,
  expectError,
  type Fixture,
  publishForm,
  startControlPlane,
  type TestTenant,
} from "../helpers/control-plane-harness.ts";
import { listOperations, type OpenApiDocument, type OperationRef } from "../helpers/openapi-fuzz.ts";
import {
  expectUnauthorized,
  jwtForgeries,
  SCHEME_ATTACKS,
  type TokenMinter,
} from "../helpers/token-attacks.ts";

/**
 * The shared attack list against every authenticated operation of the control plane's own OpenAPI document:
 * JWT forgeries built against its real signing key, issuer and audience, and personal-access-token attacks.
 * Requests carry real ids of the target tenant and bodies the route would accept, so a 401 is due to the
 * credential alone; a genuine credential is sent last as a control.
 */

let h: ControlPlaneHarness;
let fixture: Fixture;
beforeAll(async () => {
  h = await startControlPlane();
  fixture = await h.fixture(7);
});
afterAll(() => h?.close());

const SYSTEM: AuditContext = {
  actor: { type: "system", id: "token-attacks" },
  requestId: null,
  ip: null,
  userAgent: null,
};
const POLICY = retrainingPolicySchema.parse({ dataSource: "customers.csv" });
/** The target tenant's customer, for the routes that name one. */
const CUSTOMER_ID = "cus_attacks";

interface Ids {
  userId: string;
  clientId: string;
  revocableClientId: string;
  patId: string;
  webhookId: string;
  jobId: string;
  leaseToken: string;
  candidateId: string;
  challengerId: string;
}

/** A claimed retraining job of the tenant, as the worker would hold it. */
async function leasedJob(tenantId: string) {
  await putRetrainingPolicy(h.deps.db, SYSTEM, tenantId, POLICY);
  await writeTransaction(h.deps.db, (tx) =>
    requestJobInTx(tx, SYSTEM, tenantId, POLICY, { trigger: "manual", reason: "attacks", now: Date.now() }),
  );
  const claim = await claimJob(h.deps.db, SYSTEM, tenantId, "attacks");
  if (!claim) throw new Error("no job to claim");
  return claim;
}

/** The target tenant with one of every resource a path can name. */
async function targetTenant(): Promise<{ t: TestTenant; ids: Ids }> {
  const t = await h.newTenant("Target");
  const manifest = JSON.parse(fixture.manifestText) as Manifest;
  // "churn" v1 carries the trainer's report, so the report route names a real report.
  const { version } = await publishModelVersion(h.deps.db, h.deps.validator, SYSTEM, {
    tenantId: t.tenantId,
    name: "churn",
    manifest: { ...manifest, name: "churn" },
    bytes: fixture.bytes,
    explainer: fixture.explainer,
    report: new Uint8Array(await readFile(join(fixture.dir, "report.html"))),
  });
  const challenger = await t.publish(fixture, "challenger");
  await t.deploy(version.id);
  const [analyst, client, revocable] = await Promise.all([
    t.addUser("analyst"),
    t.addApiClient(["predict"], "target"),
    t.addApiClient(["predict"], "revocable"),
  ]);
  const pat = await createPat(h.deps.db, {
    tenantId: t.tenantId,
    userId: t.ownerId,
    name: "target",
    ttlDays: 1,
  });
  const webhook = await createWebhook(h.deps.db, SYSTEM, t.tenantId, { url: "https://hooks.example.test/a" });
  const decided = await leasedJob(t.tenantId);
  const candidate = await completeJob(h.deps.db, h.deps.edge, SYSTEM, t.tenantId, decided.job.id, {
    leaseToken: decided.leaseToken,
    candidateVersionId: challenger.id,
    holdout: {
      rows: 100,
      positives: 30,
      candidate: { auc: 0.9, logLoss: 0.4 },
      production: { auc: 0.8, logLoss: 0.45 },
    },
  });
  const { job, leaseToken } = await leasedJob(t.tenantId);
  // A scored record of the customer the export route names, so that the target's customer exists.
  await ingestEvents(h.deps.db, [
    {
      type: "prediction",
      eventId: newId("event"),
      tenantId: t.tenantId,
      at: new Date().toISOString(),
      versionId: version.id,
      version: version.version,
      variant: "production",
      predictions: [
        { predictionId: newId("prediction"), customerId: CUSTOMER_ID, probability: 0.5, contact: true },
      ],
    },
  ]);
  return {
    t,
    ids: {
      userId: analyst.userId,
      clientId: client.clientId,
      revocableClientId: revocable.clientId,
      patId: pat.id,
      webhookId: webhook.id,
      jobId: job.id,
      leaseToken,
      candidateId: candidate.id,
      challengerId: challenger.id,
    },
  };
}

/** The real id of the target tenant for a path parameter; undefined when the suite has none. */
function pathValue(op: OperationRef, param: string, ids: Ids): string | undefined {
  if (param === "name") return "churn";
  if (param === "version") return "1";
  if (param === "customerId") return CUSTOMER_ID;
  if (param !== "id") return undefined;
  const byPrefix: [string, string][] = [
    ["/v1/users/me/tokens/", ids.patId],
    ["/v1/users/", ids.userId],
    ["/v1/clients/{id}/revoke", ids.revocableClientId],
    ["/v1/clients/", ids.clientId],
    ["/v1/webhooks/", ids.webhookId],
    ["/v1/retraining/jobs/", ids.jobId],
    ["/v1/candidates/", ids.candidateId],
  ];
  return byPrefix.find(([prefix]) => op.path.startsWith(prefix))?.[1];
}

/** A JSON body the operation accepts from an authorised caller; others get `{}` (auth runs first). */
function jsonBody(op: OperationRef, ids: Ids): unknown {
  const bodies: Record<string, unknown> = {
    "POST /v1/users": { email: `attacks-${newId("request").slice(4, 12)}@example.test`, role: "analyst" },
    "PATCH /v1/users/{id}": { role: "analyst" },
    "POST /v1/users/me/tokens": { name: "attacks", ttlDays: 1 },
    "POST /v1/clients": { name: "attacks", scopes: ["predict"] },
    "PATCH /v1/clients/{id}": { name: "renamed" },
    "PUT /v1/settings/limits": { ratePerSecond: 50, burst: 100 },
    "PUT /v1/settings/quota": { monthlyPredictionQuota: 1000 },
    "PUT /v1/settings/predict": { allowUnknownFields: true },
    "PUT /v1/deployment": { production: ids.challengerId },
    "PUT /v1/settings/monitoring": { drift: { minSamples: 200 } },
    "POST /v1/erasures": { customerId: "attacks" },
    "PUT /v1/alerts/rules": { driftScore: 0.3 },
    "POST /v1/webhooks": { url: "https://hooks.example.test/b" },
    "PUT /v1/retraining/policy": { dataSource: "customers.csv" },
    "POST /v1/retraining/jobs": { reason: "attacks" },
    "POST /v1/retraining/jobs/claim": { worker: "attacks" },
    "POST /v1/retraining/jobs/{id}/heartbeat": { leaseToken: ids.leaseToken },
    "POST /v1/retraining/jobs/{id}/fail": { leaseToken: ids.leaseToken, reason: "attacks" },
    "POST /v1/retraining/jobs/{id}/complete": {
      leaseToken: ids.leaseToken,
      candidateVersionId: ids.challengerId,
      holdout: {
        rows: 100,
        positives: 30,
        candidate: { auc: 0.7, logLoss: 0.4 },
        production: { auc: 0.8, logLoss: 0.45 },
      },
    },
    "POST /v1/candidates/{id}/reject": { reason: "attacks" },
  };
  return bodies[op.key] ?? {};
}

type Send = (authorization: string | null) => Promise<Response>;

/** Builds the operation's request with real ids; throws when the document names something it cannot fill. */
function requestBuilder(op: OperationRef, ids: Ids): Send {
  const path = op.path.replace(/\{([^}]+)\}/g, (_, param: string) => {
    const value = pathValue(op, param, ids);
    if (value === undefined) throw new Error(`${op.key}: no value for path parameter {${param}}`);
    return encodeURIComponent(value);
  });
  const content = Object.keys(op.operation.requestBody?.content ?? {});
  const body = (): { headers: Record<string, string>; body?: BodyInit } => {
    if (content.length === 0) return { headers: {} };
    if (content.includes("application/json")) {
      return { headers: { "content-type": "application/json" }, body: JSON.stringify(jsonBody(op, ids)) };
    }
    if (content.includes("multipart/form-data")) {
      return { headers: {}, body: publishForm(fixture.manifestText, fixture.bytes, fixture.explainer) };
    }
    throw new Error(`${op.key}: no body for ${content.join(", ")}`);
  };
  return (authorization) => {
    const { headers, body: payload } = body();
    if (authorization !== null) headers.authorization = authorization;
    return h.request(path, {
      method: op.method,
      headers,
      ...(payload === undefined ? {} : { body: payload }),
    });
  };
}

/** JWTs as the control plane mints them (its active key, issuer and audience), for the target's client. */
async function controlPlaneMinter(tenantId: string, clientId: string): Promise<TokenMinter> {
  const active = h.deps.keys.active();
  const jwks = (await (await h.request("/.well-known/jwks.json")).json()) as {
    keys: { kid: string; x: string }[];
  };
  const published = jwks.keys.find((k) => k.kid === active.kid);
  if (!published) throw new Error("the active key is not in the published JWKS");
  return {
    kid: active.kid,
    publicX: published.x,
    mint(o = {}) {
      const now = Math.floor(Date.now() / 1000);
      const jwt = new SignJWT({ tid: tenantId, sub: clientId, scope: ALL_SCOPES.join(" ") })
        .setProtectedHeader({ alg: TOKEN_ALG, kid: o.kid ?? active.kid, typ: "at+jwt" })
        .setIssuer(o.issuer ?? h.deps.config.TOKEN_ISSUER)
        .setAudience(o.audience ?? h.deps.config.TOKEN_AUDIENCE)
        .setExpirationTime(o.expiresAt ?? now + 300)
        .setJti(newId("token"));
      if (o.issuedAt !== null) jwt.setIssuedAt(o.issuedAt ?? now - 60);
      if (o.notBefore !== undefined) jwt.setNotBefore(o.notBefore);
      return jwt.sign(o.key ?? active.privateKey);
    },
  };
}

/** Personal-access-token and scheme attacks on the target tenant, beside the shared scheme list. */
async function patAttacks(t: TestTenant): Promise<Record<string, string>> {
  const create = async () => {
    const res = await h.request("/v1/users/me/tokens", {
      method: "POST",
      token: t.ownerToken,
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ name: "to-revoke", ttlDays: 30 }),
    });
    expect(res.status).toBe(201);
    return (await res.json()) as { id: string; token: string };
  };
  const revoked = await create();
  expect(
    (await h.request(`/v1/users/me/tokens/${revoked.id}`, { method: "DELETE", token: t.ownerToken })).status,
  ).toBe(204);
  const expired = await createPat(h.deps.db, {
    tenantId: t.tenantId,
    userId: t.ownerId,
    name: "expired",
    ttlDays: -1,
  });
  const last = t.ownerToken.at(-1);
  const client = await t.addApiClient(ALL_SCOPES, "basic-probe");
  return {
    "revoked personal access token": `Bearer ${revoked.token}`,
    "expired personal access token": `Bearer ${expired.token}`,
    "personal access token with one character changed": `Bearer ${t.ownerToken.slice(0, -1)}${last === "A" ? "B" : "A"}`,
    "churn_pat_ prefix with garbage": "Bearer churn_pat_definitely-not-issued",
    "Basic with the client's real id and secret": basicAuth(client.clientId, client.clientSecret),
  };
}

describe("token attacks on every authenticated control-plane operation", () => {
  it("refuses every forged or invalid credential with a 401 envelope; another tenant's PAT gets 404", async () => {
    const doc = (await (await h.request("/v1/openapi.json")).json()) as OpenApiDocument;
    const secured = listOperations(doc).filter((op) =>
      (op.operation.security ?? []).some((requirement) => "bearerAuth" in requirement),
    );
    expect(secured.length).toBeGreaterThan(40);

    const { t, ids } = await targetTenant();
    const bystander = await h.newTenant("Bystander");
    const probe = await t.addApiClient(ALL_SCOPES, "attack-probe");
    const attacks: [string, string | null][] = [
      ...Object.entries(SCHEME_ATTACKS),
      ...Object.entries(await jwtForgeries(await controlPlaneMinter(t.tenantId, probe.clientId))).map(
        ([label, token]): [string, string] => [label, `Bearer ${token}`],
      ),
      ...Object.entries(await patAttacks(t)),
    ];
    // Every request is built up front: an operation the suite cannot build fails here, before any call.
    const requests = secured.map((op) => ({ op, send: requestBuilder(op, ids) }));

    // Another tenant's owner holds every permission, yet the target's ids do not exist for it.
    const crossTenant = requests.filter(
      ({ op }) => op.path.includes("{") && op.key !== "POST /v1/models/{name}/versions",
    );
    for (const { op, send } of crossTenant) {
      const res = await send(`Bearer ${bystander.ownerToken}`);
      expect(res.status, `another tenant's PAT → ${op.key}`).toBe(404);
      await expectError(res, 404, "NOT_FOUND");
    }

    let refused = 0;
    for (const { op, send } of requests) {
      for (const [label, authorization] of attacks) {
        await expectUnauthorized(await send(authorization), `${label} → ${op.key}`);
        refused++;
      }
    }

    // Authentication comes before body parsing: a broken body with a bad credential is still a 401.
    const withBody = secured.filter((op) => op.operation.requestBody);
    const forged = attacks.find(([label]) => label === "foreign key with our kid")![1];
    for (const op of withBody) {
      for (const authorization of [null, forged]) {
        const res = await h.request(op.path, {
          method: op.method,
          headers: {
            "content-type": Object.keys(op.operation.requestBody?.content ?? {})[0] ?? "application/json",
            ...(authorization === null ? {} : { authorization }),
          },
          body: '{"truncated": ',
        });
        await expectUnauthorized(
          res,
          `broken body, ${authorization === null ? "no token" : "forged token"} → ${op.key}`,
        );
      }
    }

    // Controls, after the attacks since they change state: the genuine credentials pass authentication.
    const clientToken = await t.exchange(probe);
    for (const { op, send } of requests) {
      let res = await send(`Bearer ${clientToken}`);
      // Routes only people may use refuse every client; the owner's own token must then get through.
      if (res.status === 403) res = await send(`Bearer ${t.ownerToken}`);
      expect([401, 403], `control for ${op.key}: ${res.status} ${await res.text()}`).not.toContain(
        res.status,
      );
      expect(res.status, `control for ${op.key}`).toBeLessThan(500);
    }

    expect(refused).toBe(secured.length * attacks.length);
    console.log(
      `control-plane token attacks: ${secured.length} operations × ${attacks.length} attacks = ${refused} refused with 401; ` +
        `another tenant's PAT on ${crossTenant.length} operations with path ids → 404`,
    );
  }, 180_000); // every secured operation × every attack: thousands of requests, one test
});
