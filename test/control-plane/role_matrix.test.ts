import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { newId } from "#shared/ids.ts";
import type { Manifest } from "#shared/manifest.ts";
import { type RetrainingClaim, retrainingPolicySchema } from "#shared/retraining.ts";
import { samlSettingsRequestSchema } from "#shared/saml.ts";
import { SCOPES, type Scope } from "#shared/scopes.ts";
import { ssoSettingsRequestSchema } from "#shared/sso.ts";
import { createWebhook } from "../../control-plane/src/modules/alerts/webhooks.ts";
import type { AuditContext } from "../../control-plane/src/modules/audit/audit.ts";
import { getDeployment } from "../../control-plane/src/modules/deployments/deployments.ts";
import { PERMISSIONS, type Permission } from "../../control-plane/src/modules/identity/permissions.ts";
import { addUser } from "../../control-plane/src/modules/identity/tenants.ts";
import { createUser } from "../../control-plane/src/modules/identity/users.ts";
import { ingestEvents } from "../../control-plane/src/modules/monitoring/ingest.ts";
import { publishModelVersion } from "../../control-plane/src/modules/registry/registry.ts";
import { completeJob } from "../../control-plane/src/modules/retraining/candidates.ts";
import { claimJob, requestJobInTx } from "../../control-plane/src/modules/retraining/jobs.ts";
import { putRetrainingPolicy } from "../../control-plane/src/modules/retraining/policy.ts";
import { putSamlSettings } from "../../control-plane/src/modules/sso/saml/settings.ts";
import { putSsoSettings } from "../../control-plane/src/modules/sso/settings.ts";
import { modelVersions, ROLES, type Role } from "../../control-plane/src/platform/db/schema/index.ts";
import { writeTransaction } from "../../control-plane/src/platform/db/write-transaction.ts";
import {
  type ControlPlaneHarness,
  type ErrorBody,
  type Fixture,
  publishForm,
  startControlPlane,
  type TestTenant,
} from "../helpers/control-plane-harness.ts";
import { selfSignedCertificate } from "../helpers/saml-idp.ts";

let h: ControlPlaneHarness;
let m1: Fixture;
let m2: Fixture;
/** The SAML settings the matrix sets and reads: a real IdP certificate, made for the run. */
let matrixSaml: Record<string, unknown>;
beforeAll(async () => {
  h = await startControlPlane();
  const idp = await selfSignedCertificate("matrix idp");
  matrixSaml = {
    enabled: false,
    idpEntityId: "https://idp.example.test/saml",
    idpSsoUrl: "https://idp.example.test/saml/sso",
    idpCertificates: [idp.certificate],
    roleMappings: [{ group: "churn-analysts", role: "analyst" }],
  };
  [m1, m2] = await Promise.all([h.fixture(7), h.fixture(8)]);
});
afterAll(() => h?.close());

interface RouteContext {
  versionId: string;
  /** An analyst of the caller's tenant, whose role the PATCH sets (to what it already is). */
  userId: string;
  /** A client of the caller's tenant that stays usable: renamed and rotated, never revoked. */
  clientId: string;
  /** A client of the caller's tenant for the revoke route. */
  revocableClientId: string;
  /** The caller's tenant, for setting up retraining jobs and candidates directly. */
  tenantId: string;
}

let analysts = 0;
/** A new analyst of the tenant, for routes that cut a user off (each call needs its own). */
async function freshAnalyst(tenantId: string): Promise<string> {
  const email = `offboard-${++analysts}@example.test`;
  return (await addUser(h.deps.db, MATRIX_AUDIT, { tenantId, email, role: "analyst" })).userId;
}

/** A new user of the tenant who has not redeemed their invitation yet. */
async function freshInvitee(tenantId: string): Promise<string> {
  const owner = { tenantId, kind: "user", id: "matrix", role: "owner", scopes: new Set<string>() } as const;
  const email = `invitee-${++analysts}@example.test`;
  return (await createUser(h.deps.db, MATRIX_AUDIT, owner, { email, role: "analyst" })).user.id;
}

interface RouteCase {
  /** As the OpenAPI document spells it. */
  operation: string;
  permission: Permission;
  call(token: string, ctx: RouteContext): Promise<Response>;
}

const json = (method: string, token: string, body: unknown): RequestInit & { token: string } => ({
  method,
  token,
  headers: { "content-type": "application/json" },
  body: JSON.stringify(body),
});

let emails = 0;

/** Every authenticated route and the permission it must demand; each call succeeds when allowed. */
const ROUTES: RouteCase[] = [
  {
    operation: "GET /v1/models/{name}/versions",
    permission: "models:read",
    call: (token) => h.request("/v1/models/churn/versions", { token }),
  },
  {
    operation: "POST /v1/models/{name}/versions",
    permission: "models:publish",
    call: (token) =>
      h.request("/v1/models/churn/versions", {
        method: "POST",
        token,
        body: publishForm(m1.manifestText, m1.bytes, m1.explainer),
      }),
  },
  {
    operation: "GET /v1/models/{name}/versions/{version}/runs",
    permission: "models:read",
    call: (token) => h.request("/v1/models/churn/versions/1/runs", { token }),
  },
  {
    operation: "GET /v1/models/{name}/versions/{version}/report",
    permission: "models:read",
    async call(token, { tenantId }) {
      // A model whose version carries the trainer's report (the tenant's churn v1 was published without).
      await publishModelVersion(h.deps.db, h.deps.validator, MATRIX_AUDIT, {
        tenantId,
        name: "reported",
        manifest: { ...(JSON.parse(m1.manifestText) as Manifest), name: "reported" },
        bytes: m1.bytes,
        explainer: m1.explainer,
        report: new Uint8Array(await readFile(join(m1.dir, "report.html"))),
      });
      return h.request("/v1/models/reported/versions/1/report", { token });
    },
  },
  {
    operation: "GET /v1/deployment",
    permission: "deployments:read",
    call: (token) => h.request("/v1/deployment", { token }),
  },
  {
    operation: "GET /v1/deployment/history",
    permission: "deployments:read",
    call: (token) => h.request("/v1/deployment/history", { token }),
  },
  {
    operation: "PUT /v1/deployment",
    permission: "deployments:write",
    call: (token, { versionId }) =>
      h.request("/v1/deployment", json("PUT", token, { production: versionId })),
  },
  {
    // After the PUT above, so an earlier revision served another production version.
    operation: "POST /v1/deployment/rollback",
    permission: "deployments:write",
    call: (token) => h.request("/v1/deployment/rollback", { method: "POST", token }),
  },
  ...["/v1/audit", "/v1/audit/verify", "/v1/audit/export"].map(
    (path): RouteCase => ({
      operation: `GET ${path}`,
      permission: "audit:read",
      call: (token) => h.request(path, { token }),
    }),
  ),
  {
    operation: "GET /v1/users",
    permission: "users:read",
    call: (token) => h.request("/v1/users", { token }),
  },
  {
    operation: "POST /v1/users",
    permission: "users:write",
    call: (token) =>
      h.request("/v1/users", json("POST", token, { email: `m${++emails}@example.test`, role: "analyst" })),
  },
  {
    operation: "PATCH /v1/users/{id}",
    permission: "users:roles",
    call: (token, { userId }) => h.request(`/v1/users/${userId}`, json("PATCH", token, { role: "analyst" })),
  },
  {
    operation: "POST /v1/users/{id}/disable",
    permission: "users:write",
    call: async (token, { tenantId }) =>
      h.request(`/v1/users/${await freshAnalyst(tenantId)}/disable`, { method: "POST", token }),
  },
  {
    operation: "DELETE /v1/users/{id}",
    permission: "users:write",
    call: async (token, { tenantId }) =>
      h.request(`/v1/users/${await freshAnalyst(tenantId)}`, { method: "DELETE", token }),
  },
  {
    operation: "POST /v1/users/{id}/tokens/revoke",
    permission: "users:write",
    call: async (token, { tenantId }) =>
      h.request(`/v1/users/${await freshAnalyst(tenantId)}/tokens/revoke`, { method: "POST", token }),
  },
  {
    operation: "POST /v1/users/{id}/invitation",
    permission: "users:write",
    call: async (token, { tenantId }) =>
      h.request(`/v1/users/${await freshInvitee(tenantId)}/invitation`, { method: "POST", token }),
  },
  {
    operation: "POST /v1/users/me/tokens",
    permission: "tokens:self",
    call: (token) => h.request("/v1/users/me/tokens", json("POST", token, { name: "matrix", ttlDays: 1 })),
  },
  {
    operation: "GET /v1/users/me/tokens",
    permission: "tokens:self",
    call: (token) => h.request("/v1/users/me/tokens", { token }),
  },
  {
    operation: "DELETE /v1/users/me/tokens/{id}",
    permission: "tokens:self",
    async call(token) {
      const created = await h.request("/v1/users/me/tokens", json("POST", token, { name: "x", ttlDays: 1 }));
      const id = created.status === 201 ? ((await created.json()) as { id: string }).id : "pat_unknown";
      return h.request(`/v1/users/me/tokens/${id}`, { method: "DELETE", token });
    },
  },
  {
    operation: "GET /v1/clients",
    permission: "clients:read",
    call: (token) => h.request("/v1/clients", { token }),
  },
  {
    operation: "POST /v1/clients",
    permission: "clients:write",
    call: (token) => h.request("/v1/clients", json("POST", token, { name: "matrix", scopes: ["predict"] })),
  },
  {
    operation: "PATCH /v1/clients/{id}",
    permission: "clients:write",
    call: (token, { clientId }) =>
      h.request(`/v1/clients/${clientId}`, json("PATCH", token, { name: "renamed" })),
  },
  {
    operation: "POST /v1/clients/{id}/rotate",
    permission: "clients:write",
    call: (token, { clientId }) => h.request(`/v1/clients/${clientId}/rotate`, { method: "POST", token }),
  },
  {
    operation: "POST /v1/clients/{id}/revoke",
    permission: "clients:write",
    call: (token, { revocableClientId }) =>
      h.request(`/v1/clients/${revocableClientId}/revoke`, { method: "POST", token }),
  },
  {
    operation: "PUT /v1/settings/limits",
    permission: "settings:write",
    call: (token) => h.request("/v1/settings/limits", json("PUT", token, { ratePerSecond: 50, burst: 100 })),
  },
  {
    operation: "PUT /v1/settings/quota",
    permission: "settings:write",
    call: (token) => h.request("/v1/settings/quota", json("PUT", token, { monthlyPredictionQuota: 1000 })),
  },
  {
    operation: "GET /v1/usage",
    permission: "monitoring:read",
    call: (token) => h.request("/v1/usage", { token }),
  },
  {
    operation: "GET /v1/settings/predict",
    permission: "deployments:read",
    call: (token) => h.request("/v1/settings/predict", { token }),
  },
  {
    operation: "PUT /v1/settings/predict",
    permission: "settings:write",
    call: (token) => h.request("/v1/settings/predict", json("PUT", token, { allowUnknownFields: true })),
  },
  {
    operation: "GET /v1/settings/sso",
    permission: "users:read",
    async call(token, { tenantId }) {
      const owner = {
        tenantId,
        kind: "user",
        id: "matrix",
        role: "owner",
        scopes: new Set<string>(),
      } as const;
      const origin = { origin: "http://localhost", allowPrivateNetworks: false };
      await putSsoSettings(
        h.deps.db,
        MATRIX_AUDIT,
        owner,
        ssoSettingsRequestSchema.parse(MATRIX_SSO),
        origin,
      );
      return h.request("/v1/settings/sso", { token });
    },
  },
  {
    operation: "PUT /v1/settings/sso",
    permission: "settings:write",
    call: (token) => h.request("/v1/settings/sso", json("PUT", token, MATRIX_SSO)),
  },
  {
    operation: "GET /v1/settings/saml",
    permission: "users:read",
    async call(token, { tenantId }) {
      const owner = {
        tenantId,
        kind: "user",
        id: "matrix",
        role: "owner",
        scopes: new Set<string>(),
      } as const;
      const origin = { origin: "http://localhost", allowPrivateNetworks: false };
      await putSamlSettings(
        h.deps.db,
        MATRIX_AUDIT,
        owner,
        samlSettingsRequestSchema.parse(matrixSaml),
        origin,
      );
      return h.request("/v1/settings/saml", { token });
    },
  },
  {
    operation: "PUT /v1/settings/saml",
    permission: "settings:write",
    call: (token) => h.request("/v1/settings/saml", json("PUT", token, matrixSaml)),
  },
  {
    operation: "GET /v1/monitoring/snapshot",
    permission: "monitoring:read",
    call: (token) => h.request("/v1/monitoring/snapshot", { token }),
  },
  {
    operation: "GET /v1/monitoring/timeseries",
    permission: "monitoring:read",
    call: (token) => h.request("/v1/monitoring/timeseries?days=2", { token }),
  },
  {
    operation: "GET /v1/monitoring/settings",
    permission: "monitoring:read",
    call: (token) => h.request("/v1/monitoring/settings", { token }),
  },
  {
    operation: "PUT /v1/settings/monitoring",
    permission: "monitoring:write",
    call: (token) => h.request("/v1/settings/monitoring", json("PUT", token, { drift: { minSamples: 200 } })),
  },
  {
    operation: "POST /v1/erasures",
    permission: "customers:erase",
    call: (token) => h.request("/v1/erasures", json("POST", token, { customerId: "cus_matrix" })),
  },
  {
    operation: "GET /v1/customers/{customerId}/export",
    permission: "customers:export",
    async call(token, { tenantId }) {
      // A scored record of the customer, as the edge's queue would deliver it, so the export finds one.
      await ingestEvents(h.deps.db, [
        {
          type: "prediction",
          eventId: newId("event"),
          tenantId,
          at: new Date().toISOString(),
          versionId: "mv_matrix",
          version: 1,
          variant: "production",
          predictions: [
            { predictionId: newId("prediction"), customerId: "cus_export", probability: 0.5, contact: true },
          ],
        },
      ]);
      return h.request("/v1/customers/cus_export/export", { token });
    },
  },
  {
    operation: "GET /v1/alerts/rules",
    permission: "monitoring:read",
    call: (token) => h.request("/v1/alerts/rules", { token }),
  },
  {
    operation: "PUT /v1/alerts/rules",
    permission: "monitoring:write",
    call: (token) => h.request("/v1/alerts/rules", json("PUT", token, { driftScore: 0.3 })),
  },
  {
    operation: "GET /v1/alerts",
    permission: "monitoring:read",
    call: (token) => h.request("/v1/alerts?state=firing", { token }),
  },
  {
    operation: "GET /v1/webhooks",
    permission: "monitoring:read",
    call: (token) => h.request("/v1/webhooks", { token }),
  },
  {
    operation: "POST /v1/webhooks",
    permission: "monitoring:write",
    call: (token) =>
      h.request("/v1/webhooks", json("POST", token, { url: "https://hooks.example.test/churn" })),
  },
  {
    operation: "DELETE /v1/webhooks/{id}",
    permission: "monitoring:write",
    async call(token, { tenantId }) {
      const hook = await createWebhook(h.deps.db, MATRIX_AUDIT, tenantId, {
        url: "https://hooks.example.test/x",
      });
      return h.request(`/v1/webhooks/${hook.id}`, { method: "DELETE", token });
    },
  },
  {
    operation: "GET /v1/webhooks/{id}/deliveries",
    permission: "monitoring:read",
    async call(token, { tenantId }) {
      const hook = await createWebhook(h.deps.db, MATRIX_AUDIT, tenantId, {
        url: "https://hooks.example.test/y",
      });
      return h.request(`/v1/webhooks/${hook.id}/deliveries`, { token });
    },
  },
  {
    operation: "GET /v1/retraining/policy",
    permission: "monitoring:read",
    call: (token) => h.request("/v1/retraining/policy", { token }),
  },
  {
    operation: "PUT /v1/retraining/policy",
    permission: "monitoring:write",
    call: (token) => h.request("/v1/retraining/policy", json("PUT", token, { dataSource: "customers.csv" })),
  },
  {
    operation: "GET /v1/retraining/jobs",
    permission: "monitoring:read",
    call: (token) => h.request("/v1/retraining/jobs", { token }),
  },
  {
    operation: "POST /v1/retraining/jobs",
    permission: "retraining:write",
    async call(token, { tenantId }) {
      await putRetrainingPolicy(
        h.deps.db,
        MATRIX_AUDIT,
        tenantId,
        retrainingPolicySchema.parse(MATRIX_POLICY),
      );
      return h.request("/v1/retraining/jobs", json("POST", token, { reason: "matrix" }));
    },
  },
  {
    operation: "POST /v1/retraining/jobs/claim",
    permission: "retraining:run",
    call: (token) => h.request("/v1/retraining/jobs/claim", json("POST", token, { worker: "matrix" })),
  },
  {
    operation: "POST /v1/retraining/jobs/{id}/heartbeat",
    permission: "retraining:run",
    async call(token, { tenantId }) {
      const { job, leaseToken } = await leasedJob(tenantId);
      return h.request(`/v1/retraining/jobs/${job.id}/heartbeat`, json("POST", token, { leaseToken }));
    },
  },
  {
    operation: "GET /v1/retraining/jobs/{id}/records",
    permission: "retraining:run",
    async call(token, { tenantId }) {
      const { job } = await leasedJob(tenantId);
      return h.request(`/v1/retraining/jobs/${job.id}/records`, { token });
    },
  },
  {
    operation: "GET /v1/retraining/jobs/{id}/production-model",
    permission: "retraining:run",
    async call(token, { tenantId }) {
      const { job } = await leasedJob(tenantId);
      return h.request(`/v1/retraining/jobs/${job.id}/production-model`, { token });
    },
  },
  {
    operation: "POST /v1/retraining/jobs/{id}/fail",
    permission: "retraining:run",
    async call(token, { tenantId }) {
      const { job, leaseToken } = await leasedJob(tenantId);
      return h.request(
        `/v1/retraining/jobs/${job.id}/fail`,
        json("POST", token, { leaseToken, reason: "matrix" }),
      );
    },
  },
  {
    operation: "POST /v1/retraining/jobs/{id}/complete",
    permission: "retraining:run",
    async call(token, { tenantId, versionId }) {
      const { job, leaseToken } = await leasedJob(tenantId);
      return h.request(
        `/v1/retraining/jobs/${job.id}/complete`,
        json("POST", token, { leaseToken, candidateVersionId: versionId, holdout: holdoutReport(false) }),
      );
    },
  },
  {
    operation: "GET /v1/candidates",
    permission: "monitoring:read",
    call: (token) => h.request("/v1/candidates", { token }),
  },
  {
    operation: "POST /v1/candidates/{id}/promote",
    permission: "retraining:write",
    async call(token, { tenantId }) {
      const candidate = await canaryCandidate(tenantId);
      return h.request(`/v1/candidates/${candidate.id}/promote`, { method: "POST", token });
    },
  },
  {
    operation: "POST /v1/candidates/{id}/reject",
    permission: "retraining:write",
    async call(token, { tenantId }) {
      const candidate = await canaryCandidate(tenantId);
      return h.request(`/v1/candidates/${candidate.id}/reject`, json("POST", token, { reason: "matrix" }));
    },
  },
];

const MATRIX_AUDIT: AuditContext = {
  actor: { type: "system", id: "matrix" },
  requestId: null,
  ip: null,
  userAgent: null,
};
const MATRIX_POLICY = { dataSource: "customers.csv" };
const MATRIX_SSO = {
  issuer: "https://idp.example.test",
  clientId: "churn-console",
  clientSecret: "matrix-secret",
  roleMappings: [{ group: "churn-analysts", role: "analyst" }],
};

/** A fresh job of the tenant, claimed (as the system) so its lease can be presented. */
async function leasedJob(tenantId: string): Promise<RetrainingClaim> {
  const policy = retrainingPolicySchema.parse(MATRIX_POLICY);
  await putRetrainingPolicy(h.deps.db, MATRIX_AUDIT, tenantId, policy);
  await writeTransaction(h.deps.db, (tx) =>
    requestJobInTx(tx, MATRIX_AUDIT, tenantId, policy, {
      trigger: "manual",
      reason: "matrix",
      now: Date.now(),
    }),
  );
  const claim = await claimJob(h.deps.db, MATRIX_AUDIT, tenantId, "matrix");
  if (!claim) throw new Error("no job to claim");
  return claim;
}

const holdoutReport = (better: boolean) => ({
  rows: 100,
  positives: 30,
  candidate: { auc: better ? 0.9 : 0.7, logLoss: 0.4 },
  production: { auc: 0.8, logLoss: 0.45 },
});

/** A candidate in canary: whichever of the tenant's versions is not in production, through the gate. */
async function canaryCandidate(tenantId: string): Promise<{ id: string }> {
  const deployment = await getDeployment(h.deps.db, tenantId);
  const versions = await h.deps.db.select().from(modelVersions).where(eq(modelVersions.tenantId, tenantId));
  const other = versions.find((v) => v.id !== deployment.production.versionId)!;
  const { job, leaseToken } = await leasedJob(tenantId);
  return completeJob(h.deps.db, h.deps.edge, MATRIX_AUDIT, tenantId, job.id, {
    leaseToken,
    candidateVersionId: other.id,
    holdout: holdoutReport(true),
  });
}

/** Permissions no route uses yet; a new route naming one must join ROUTES above. */
const WITHOUT_ROUTE: Permission[] = [];

type Who = { kind: "user"; role: Role } | { kind: "client"; scopes: Scope[] };

const PRINCIPALS: Who[] = [
  ...ROLES.map((role) => ({ kind: "user" as const, role })),
  ...SCOPES.map((scope) => ({ kind: "client" as const, scopes: [scope] })),
  { kind: "client", scopes: [] },
  { kind: "client", scopes: [...SCOPES] },
];

const label = (who: Who) =>
  who.kind === "user" ? `user with role ${who.role}` : `client with scopes [${who.scopes.join(" ")}]`;

function expectedAllowed(who: Who, permission: Permission): boolean {
  const rule = PERMISSIONS[permission];
  if (who.kind === "user") return (rule.roles as readonly string[]).includes(who.role);
  return who.scopes.some((s) => (rule.scopes as readonly string[]).includes(s));
}

async function tokenOf(t: TestTenant, who: Who): Promise<string> {
  return who.kind === "user" ? t.tokenFor(who.role) : t.clientToken(who.scopes);
}

describe("role and scope matrix", () => {
  it("covers every authenticated operation in the OpenAPI document and every permission", async () => {
    const doc = (await (await h.request("/v1/openapi.json")).json()) as {
      paths: Record<string, Record<string, { security?: unknown[] }>>;
    };
    const secured = Object.entries(doc.paths).flatMap(([path, ops]) =>
      Object.entries(ops)
        .filter(([, op]) => (op.security ?? []).length > 0)
        .map(([method]) => `${method.toUpperCase()} ${path}`),
    );
    expect(secured.sort()).toEqual(ROUTES.map((r) => r.operation).sort());
    expect([...new Set([...ROUTES.map((r) => r.permission), ...WITHOUT_ROUTE])].sort()).toEqual(
      Object.keys(PERMISSIONS).sort(),
    );
  });

  for (const who of PRINCIPALS) {
    it.concurrent(`enforces PERMISSIONS for a ${label(who)} on every route`, async () => {
      const t = await h.newTenant();
      const v = await t.publish(m1);
      const other = await t.publish(m2);
      await t.deploy(other.id);
      const [token, analyst, client, revocable] = await Promise.all([
        tokenOf(t, who),
        t.addUser("analyst"),
        t.addApiClient(["predict"], "matrix-target"),
        t.addApiClient(["predict"], "matrix-revocable"),
      ]);
      const ctx: RouteContext = {
        versionId: v.id,
        userId: analyst.userId,
        clientId: client.clientId,
        revocableClientId: revocable.clientId,
        tenantId: t.tenantId,
      };
      for (const route of ROUTES) {
        const res = await route.call(token, ctx);
        const text = await res.text();
        const what = `${label(who)} → ${route.operation} (${route.permission}): ${res.status} ${text}`;
        if (expectedAllowed(who, route.permission)) {
          expect([401, 403], what).not.toContain(res.status);
          expect(res.status, what).toBeLessThan(300);
        } else {
          expect(res.status, what).toBe(403);
          const body = JSON.parse(text) as ErrorBody;
          expect(body.error.code, what).toBe(who.kind === "user" ? "FORBIDDEN" : "INSUFFICIENT_SCOPE");
          expect(body.error.message, what).toContain(route.permission);
        }
      }
    });
  }
});
