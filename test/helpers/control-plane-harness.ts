import { createHmac } from "node:crypto";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { OpenAPIHono } from "@hono/zod-openapi";
import { eq } from "drizzle-orm";
import { generateKeyPair, type JWTPayload, SignJWT, UnsecuredJWT } from "jose";
import { convertV4MiniflareOptions, Miniflare } from "miniflare";
import { expect } from "vitest";
import { type ErrorCode, errorEnvelopeSchema } from "#shared/errors.ts";
import type { EdgeEvent } from "#shared/events.ts";
import { newId } from "#shared/ids.ts";
import type { Manifest } from "#shared/manifest.ts";
import { TOKEN_ALG } from "#shared/oauth.ts";
import type { Deployment, DeploymentRequest, ModelVersion } from "#shared/registry.ts";
import { SCOPES, type Scope } from "#shared/scopes.ts";
import { SIGNATURE_HEADER, signBody } from "#shared/signature.ts";
import { type ControlPlane, createControlPlane } from "../../control-plane/src/control-plane.ts";
import {
  type AuditContext,
  chainPayload,
  GENESIS_HASH,
} from "../../control-plane/src/modules/audit/audit.ts";
import { createApiClient } from "../../control-plane/src/modules/identity/api-clients.ts";
import { createPat } from "../../control-plane/src/modules/identity/pat.ts";
import { addUser, createTenant } from "../../control-plane/src/modules/identity/tenants.ts";
import { type Config, loadConfig } from "../../control-plane/src/platform/config.ts";
import {
  type AuditLogRow,
  auditLog,
  personalAccessTokens,
  type Role,
} from "../../control-plane/src/platform/db/schema/index.ts";
import {
  type EdgeStore,
  type KvLike,
  kvEdgeStore,
} from "../../control-plane/src/platform/edge-store/edge-store.ts";
import type { Deps, HonoEnv, Logger } from "../../control-plane/src/platform/env.ts";
import type { ModelFixture } from "./model-fixture.ts";

/** The Workers KV binding Miniflare hands to Node, as far as the tests read it. */
export interface EdgeKv extends KvLike {
  get(key: string, type: "text"): Promise<string | null>;
  get(key: string, type: "arrayBuffer"): Promise<ArrayBuffer | null>;
  list(options?: { prefix?: string }): Promise<{ keys: { name: string }[] }>;
  delete(key: string): Promise<void>;
}

export interface ControlPlaneHarness {
  app: OpenAPIHono<HonoEnv>;
  deps: Deps;
  cp: ControlPlane;
  config: Config;
  /** The real workerd KV namespace the control plane publishes to. */
  kv: EdgeKv;
  edge: EdgeStore;
  /** Temp dir holding the libSQL file (and trained fixtures); removed by close(). */
  dir: string;
  /** Every event the control plane logged, for checks that secrets never reach the logs. */
  logs: Record<string, unknown>[];
  /** Trains (once per harness and seed) a small real model: model.onnx + manifest.json (+ explainer.json). */
  fixture(seed?: number): Promise<Fixture>;
  /** A new tenant with its owner; every test takes its own. */
  newTenant(label?: string): Promise<TestTenant>;
  /** Calls the app like a client would; `token` becomes `Authorization: Bearer <token>`. */
  request(path: string, init?: RequestInit & { token?: string }): Promise<Response>;
  /** Delivers events as the edge's queue consumer does: signed with the harness's `INGEST_SECRET`. */
  ingest(events: EdgeEvent[]): Promise<Response>;
  close(): Promise<void>;
}

/** A trained model as the suites publish it: tree models come with their explainer package. */
export interface Fixture extends ModelFixture {
  explainer?: Uint8Array;
}

/** Reads the explainer package the trainer wrote beside the model, when it wrote one. */
async function withExplainer(fixture: ModelFixture): Promise<Fixture> {
  try {
    return { ...fixture, explainer: new Uint8Array(await readFile(join(fixture.dir, "explainer.json"))) };
  } catch {
    return fixture;
  }
}

export interface ApiClientCredentials {
  clientId: string;
  clientSecret: string;
}

export interface TestTenant {
  tenantId: string;
  ownerId: string;
  ownerToken: string;
  /** Adds a user with the role and returns their personal access token. */
  addUser(role: Role): Promise<{ userId: string; token: string }>;
  /** A personal access token of a user holding the role (the owner's for "owner"; cached per role). */
  tokenFor(role: Role): Promise<string>;
  addApiClient(scopes: Scope[], name?: string): Promise<ApiClientCredentials>;
  /** Creates an API client with the scopes and exchanges its credentials at /v1/oauth/token. */
  clientToken(scopes: Scope[]): Promise<string>;
  /** The real OAuth2 client-credentials exchange through the app; throws unless 200. */
  exchange(client: ApiClientCredentials, scope?: string): Promise<string>;
  /** Publishes the fixture (under `name`, rewriting the manifest's name); throws unless 200/201. */
  publish(fixture: Fixture, name?: string, token?: string): Promise<ModelVersion>;
  /** Deploys the version to production (plus any extra request fields); throws unless 200. */
  deploy(versionId: string, extra?: Partial<DeploymentRequest>, token?: string): Promise<Deployment>;
}

const quietLogger = (sink: Record<string, unknown>[]): Logger => ({
  info: (event) => sink.push({ level: "info", ...event }),
  error: (event) => sink.push({ level: "error", ...event }),
});

/** Builds one control plane per test file: a libSQL file in a fresh temp dir and a real workerd KV. */
export async function startControlPlane(
  overrides: Record<string, string> = {},
): Promise<ControlPlaneHarness> {
  const dir = await mkdtemp(join(tmpdir(), "churn-cp-test-"));
  const mf = new Miniflare(
    convertV4MiniflareOptions({
      modules: true,
      script: "export default { fetch() { return new Response('') } }",
      kvNamespaces: ["EDGE_KV"],
      compatibilityDate: "2026-07-01",
      cf: false,
    }),
  );
  let cp: ControlPlane | undefined;
  try {
    const kv = (await mf.getKVNamespace("EDGE_KV")) as unknown as EdgeKv;
    const edge = kvEdgeStore(kv);
    const config = loadConfig({
      DATABASE_URL: `file:${join(dir, "cp.db")}`,
      LOG_LEVEL: "silent",
      ...overrides,
    });
    const logs: Record<string, unknown>[] = [];
    cp = await createControlPlane(config, edge, quietLogger(logs));
    const built = cp;
    const fixtures = new Map<number, Promise<Fixture>>();

    const request: ControlPlaneHarness["request"] = (path, init = {}) => {
      const { token, ...rest } = init;
      const headers = new Headers(rest.headers);
      if (token !== undefined) headers.set("authorization", `Bearer ${token}`);
      return Promise.resolve(built.app.request(path, { ...rest, headers }));
    };

    const ingest: ControlPlaneHarness["ingest"] = async (events) => {
      if (!config.INGEST_SECRET) throw new Error("ingest needs a harness started with INGEST_SECRET");
      const body = JSON.stringify({ events });
      return request("/v1/ingest/events", {
        method: "POST",
        headers: {
          "content-type": "application/json",
          [SIGNATURE_HEADER]: await signBody(config.INGEST_SECRET, body),
        },
        body,
      });
    };

    const harness: ControlPlaneHarness = {
      app: built.app,
      deps: built.deps,
      cp: built,
      config,
      kv,
      edge,
      dir,
      logs,
      request,
      ingest,
      fixture(seed = 7) {
        let f = fixtures.get(seed);
        if (!f) {
          // Loaded on first use: suites that never publish skip importing the trainer.
          f = import("./model-fixture.ts")
            .then(({ trainFixtureModel }) =>
              trainFixtureModel(join(dir, `fixture-${seed}`), { rows: 600, seed }),
            )
            .then(withExplainer);
          fixtures.set(seed, f);
        }
        return f;
      },
      newTenant: (label) => makeTenant(harness, label),
      async close() {
        await built.close();
        await mf.dispose();
        await rm(dir, { recursive: true, force: true });
      },
    };
    return harness;
  } catch (err) {
    await cp?.close();
    await mf.dispose();
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}

async function makeTenant(h: ControlPlaneHarness, label = "Test"): Promise<TestTenant> {
  const db = h.deps.db;
  const suffix = newId("request").slice(4, 12);
  const created = await createTenant(db, {
    name: `${label} ${suffix}`,
    ownerEmail: `owner-${suffix}@example.test`,
    ownerName: "Owner",
  });
  const audit: AuditContext = {
    actor: { type: "user", id: created.ownerId },
    requestId: null,
    ip: null,
    userAgent: null,
  };
  const roleTokens = new Map<Role, Promise<string>>([["owner", Promise.resolve(created.ownerToken)]]);
  let userCount = 0;

  const tenant: TestTenant = {
    tenantId: created.tenantId,
    ownerId: created.ownerId,
    ownerToken: created.ownerToken,
    addUser(role) {
      userCount++;
      return addUser(db, audit, {
        tenantId: created.tenantId,
        email: `${role}-${userCount}-${suffix}@example.test`,
        role,
      });
    },
    tokenFor(role) {
      let token = roleTokens.get(role);
      if (!token) {
        token = tenant.addUser(role).then((u) => u.token);
        roleTokens.set(role, token);
      }
      return token;
    },
    async addApiClient(scopes, name = `client-${scopes.join("+") || "none"}`) {
      const { client, clientSecret } = await createApiClient(db, audit, {
        tenantId: created.tenantId,
        name,
        scopes,
      });
      return { clientId: client.id, clientSecret };
    },
    async clientToken(scopes) {
      return tenant.exchange(await tenant.addApiClient(scopes));
    },
    async exchange(client, scope) {
      const form = new URLSearchParams({ grant_type: "client_credentials" });
      if (scope !== undefined) form.set("scope", scope);
      const res = await h.request("/v1/oauth/token", {
        method: "POST",
        headers: {
          authorization: basicAuth(client.clientId, client.clientSecret),
          "content-type": "application/x-www-form-urlencoded",
        },
        body: form.toString(),
      });
      const body = (await res.json()) as { access_token?: string };
      if (res.status !== 200 || !body.access_token) {
        throw new Error(`token exchange failed: ${res.status} ${JSON.stringify(body)}`);
      }
      return body.access_token;
    },
    async publish(fixture, name = "churn", token = created.ownerToken) {
      const res = await h.request(`/v1/models/${name}/versions`, {
        method: "POST",
        token,
        body: publishForm(
          withManifest(fixture.manifestText, (m) => ({ ...m, name })),
          fixture.bytes,
          fixture.explainer,
        ),
      });
      const body = (await res.json()) as { version: ModelVersion };
      if (res.status !== 200 && res.status !== 201) {
        throw new Error(`publish failed: ${res.status} ${JSON.stringify(body)}`);
      }
      return body.version;
    },
    async deploy(versionId, extra = {}, token = created.ownerToken) {
      const res = await h.request("/v1/deployment", {
        method: "PUT",
        token,
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ production: versionId, ...extra }),
      });
      const body = (await res.json()) as Deployment;
      if (res.status !== 200) throw new Error(`deploy failed: ${res.status} ${JSON.stringify(body)}`);
      return body;
    },
  };
  return tenant;
}

// ---------------------------------------------------------------------------------------------------------
// Request builders

/** RFC 6749 §2.3.1 HTTP Basic client authentication (form-urlencoded id and secret). */
export function basicAuth(id: string, secret: string): string {
  const enc = (s: string) => encodeURIComponent(s).replace(/%20/g, "+");
  return `Basic ${Buffer.from(`${enc(id)}:${enc(secret)}`).toString("base64")}`;
}

/** The publish route's multipart body: `manifest` JSON text, the `model` file and any `explainer` file. */
export function publishForm(
  manifestText: string | null,
  bytes: Uint8Array | null,
  explainer?: Uint8Array,
): FormData {
  const form = new FormData();
  if (manifestText !== null) form.set("manifest", manifestText);
  if (bytes !== null) {
    form.set("model", new Blob([bytes as BlobPart], { type: "application/octet-stream" }), "model.onnx");
  }
  if (explainer !== undefined) {
    form.set("explainer", new Blob([explainer as BlobPart], { type: "application/json" }), "explainer.json");
  }
  return form;
}

/** Returns the manifest text with `edit` applied to the parsed manifest. */
export function withManifest(manifestText: string, edit: (m: Manifest) => unknown): string {
  return JSON.stringify(edit(JSON.parse(manifestText) as Manifest));
}

export const ALL_SCOPES: Scope[] = [...SCOPES];

// ---------------------------------------------------------------------------------------------------------
// Assertions

export interface ErrorBody {
  error: { code: string; message: string; requestId: string; issues?: { path: string; message: string }[] };
}

/** Asserts status, the shared error envelope, the code, and that requestId matches the x-request-id header. */
export async function expectError(res: Response, status: number, code: ErrorCode): Promise<ErrorBody> {
  const text = await res.text();
  expect(res.status, text).toBe(status);
  expect(res.headers.get("content-type")).toMatch(/^application\/json/);
  const body = JSON.parse(text) as ErrorBody;
  expect(errorEnvelopeSchema.safeParse(body).success, text).toBe(true);
  expect(body.error.code).toBe(code);
  expect(body.error.message.length).toBeGreaterThan(0);
  expect(body.error.requestId).toMatch(/^[A-Za-z0-9_-]{8,64}$/);
  expect(res.headers.get("x-request-id")).toBe(body.error.requestId);
  return body;
}

type InitFactory = () => RequestInit;

/**
 * The shared security check for every authenticated route: missing, malformed, garbage, expired,
 * wrong-audience, wrong-issuer, foreign-key, unsigned and tampered tokens, and an expired personal access
 * token, all → 401 with the error envelope and a request id. A token with the same claims signed by the
 * active key is sent first as a control, so each refusal is due to the one thing that is wrong. Routes only
 * people may use (no scope grants them) take `{ control: "owner" }`: the control is then the owner's personal
 * access token.
 */
export async function expectAuthRequired(
  h: ControlPlaneHarness,
  method: string,
  path: string,
  init: RequestInit | InitFactory = {},
  options: { control?: "client" | "owner" } = {},
): Promise<void> {
  const makeInit: InitFactory = typeof init === "function" ? init : () => init;
  const tenant = await h.newTenant("Security");
  const client = await tenant.addApiClient(ALL_SCOPES, "security-probe");
  const { config, keys } = h.deps;
  const base = {
    tid: tenant.tenantId,
    sub: client.clientId,
    scope: ALL_SCOPES.join(" "),
  };
  const sign = async (
    claims: JWTPayload,
    opts: { iss?: string; aud?: string; exp?: number; key?: CryptoKey; kid?: string } = {},
  ) => {
    const active = keys.active();
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT(claims)
      .setProtectedHeader({ alg: TOKEN_ALG, kid: opts.kid ?? active.kid, typ: "at+jwt" })
      .setIssuer(opts.iss ?? config.TOKEN_ISSUER)
      .setAudience(opts.aud ?? config.TOKEN_AUDIENCE)
      .setIssuedAt(now - 60)
      .setExpirationTime(opts.exp ?? now + 300)
      .setJti(newId("token"))
      .sign(opts.key ?? active.privateKey);
  };
  const call = (authorization: string | null) => {
    const i = makeInit();
    const headers = new Headers(i.headers);
    if (authorization !== null) headers.set("authorization", authorization);
    return h.request(path, { ...i, method, headers });
  };

  // Control: the same claims, correctly signed, pass authentication (or the owner's token, for people-only routes).
  const good = await sign(base);
  const control = await call(`Bearer ${options.control === "owner" ? tenant.ownerToken : good}`);
  expect([401, 403], `control token for ${method} ${path}`).not.toContain(control.status);

  const foreign = await generateKeyPair(TOKEN_ALG, { crv: "Ed25519" });
  const now = Math.floor(Date.now() / 1000);
  const [header, , signature] = good.split(".");
  const tamperedPayload = Buffer.from(
    JSON.stringify({ ...base, tid: newId("tenant"), iss: config.TOKEN_ISSUER, aud: config.TOKEN_AUDIENCE }),
  ).toString("base64url");
  const expiredPat = await createPat(h.deps.db, {
    tenantId: tenant.tenantId,
    userId: tenant.ownerId,
    name: "expired",
    ttlDays: -1,
  });
  const revokedPat = await createPat(h.deps.db, {
    tenantId: tenant.tenantId,
    userId: tenant.ownerId,
    name: "revoked",
    ttlDays: 30,
  });
  await h.deps.db
    .update(personalAccessTokens)
    .set({ revokedAt: Date.now() })
    .where(eq(personalAccessTokens.id, revokedPat.id));

  const cases: [string, string | null][] = [
    ["missing Authorization header", null],
    ["Basic scheme instead of Bearer", basicAuth(client.clientId, client.clientSecret)],
    ["empty bearer", "Bearer "],
    ["garbage token", "Bearer not-a-jwt"],
    ["garbage personal access token", "Bearer churn_pat_definitely-not-issued"],
    ["expired token", `Bearer ${await sign(base, { exp: now - 120 })}`],
    ["wrong audience", `Bearer ${await sign(base, { aud: "urn:someone-else" })}`],
    ["wrong issuer", `Bearer ${await sign(base, { iss: "urn:evil:issuer" })}`],
    [
      "signed by a foreign key under the active kid",
      `Bearer ${await sign(base, { key: foreign.privateKey })}`,
    ],
    [
      "unsigned (alg none)",
      `Bearer ${new UnsecuredJWT(base).setIssuer(config.TOKEN_ISSUER).setAudience(config.TOKEN_AUDIENCE).setIssuedAt().setExpirationTime("5m").encode()}`,
    ],
    ["payload swapped under a valid signature", `Bearer ${header}.${tamperedPayload}.${signature}`],
    ["missing tid claim", `Bearer ${await sign({ sub: client.clientId, scope: base.scope })}`],
    ["tid of another tenant", `Bearer ${await sign({ ...base, tid: newId("tenant") })}`],
    ["expired personal access token", `Bearer ${expiredPat.token}`],
    ["revoked personal access token", `Bearer ${revokedPat.token}`],
  ];
  for (const [name, authorization] of cases) {
    const res = await call(authorization);
    const text = await res.text();
    expect(res.status, `${name}: ${method} ${path} → ${text}`).toBe(401);
    const body = JSON.parse(text) as ErrorBody;
    expect(errorEnvelopeSchema.safeParse(body).success, name).toBe(true);
    expect(body.error.code, name).toBe("UNAUTHORIZED");
    expect(body.error.requestId, name).toMatch(/^[A-Za-z0-9_-]{8,64}$/);
    expect(res.headers.get("x-request-id"), name).toBe(body.error.requestId);
    expect(res.headers.get("www-authenticate"), name).toMatch(/^Bearer/);
  }
}

/** Test-only claims signer with the control plane's active key (for expiry and claim edge cases). */
export async function signWithActiveKey(
  h: ControlPlaneHarness,
  claims: JWTPayload,
  ttlSeconds = 300,
): Promise<string> {
  const { token } = await h.deps.keys.sign(
    claims,
    ttlSeconds,
    h.deps.config.TOKEN_ISSUER,
    h.deps.config.TOKEN_AUDIENCE,
  );
  return token;
}

/**
 * HMAC-SHA256 under the harness's audit key (the key file the control plane generated beside its database),
 * computed here with node:crypto rather than the application's helper.
 */
export function auditHmac(h: ControlPlaneHarness, message: string): string {
  return createHmac("sha256", h.cp.auditKey.secret).update(message, "utf8").digest("hex");
}

/**
 * Reads a tenant's audit chain in seq order and checks it by the keyed rule: seq is 1..n, the first prevHash
 * is the genesis hash, each prevHash is the previous entry's hash, every entry is keyed (chain version 2)
 * and each hash is HMAC-SHA256(audit key, prevHash + chainPayload(row)).
 */
export async function expectValidAuditChain(
  h: ControlPlaneHarness,
  tenantId: string,
): Promise<AuditLogRow[]> {
  const rows = await h.deps.db
    .select()
    .from(auditLog)
    .where(eq(auditLog.tenantId, tenantId))
    .orderBy(auditLog.seq);
  expect(rows.length, `audit entries of ${tenantId}`).toBeGreaterThan(0);
  let prev = GENESIS_HASH;
  for (const [i, row] of rows.entries()) {
    expect(row.seq, `seq of entry ${i}`).toBe(i + 1);
    expect(row.prevHash, `prevHash of seq ${row.seq}`).toBe(prev);
    expect(row.chainVersion, `chain version of seq ${row.seq}`).toBe(2);
    expect(row.hash, `hash of seq ${row.seq}`).toBe(auditHmac(h, prev + chainPayload(row)));
    prev = row.hash;
  }
  return rows;
}
