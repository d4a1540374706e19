import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { publishResponseSchema } from "#shared/registry.ts";
import {
  apiClients,
  idempotencyKeys,
  modelVersions,
  users,
} from "../../control-plane/src/platform/db/schema/index.ts";
import { IDEMPOTENCY_WINDOW_MS } from "../../control-plane/src/platform/idempotency.ts";
import {
  type ControlPlaneHarness,
  expectError,
  type Fixture,
  publishForm,
  startControlPlane,
  type TestTenant,
} from "../helpers/control-plane-harness.ts";

let h: ControlPlaneHarness;
let m1: Fixture;
beforeAll(async () => {
  h = await startControlPlane();
  m1 = await h.fixture(7);
});
afterAll(() => h?.close());

const post = (path: string, token: string, key: string | undefined, body: unknown) =>
  h.request(path, {
    method: "POST",
    token,
    headers: { "content-type": "application/json", ...(key !== undefined ? { "idempotency-key": key } : {}) },
    body: JSON.stringify(body),
  });

const publish = (t: TestTenant, key: string, token = t.ownerToken) =>
  h.request("/v1/models/churn/versions", {
    method: "POST",
    token,
    headers: { "idempotency-key": key },
    // A new FormData each time: a new random multipart boundary, as a real retry would send.
    body: publishForm(m1.manifestText, m1.bytes, m1.explainer),
  });

describe("Idempotency-Key: happy", () => {
  it("replays a publish's first response (status and body) to a retry, without publishing again", async () => {
    const t = await h.newTenant();
    const first = await publish(t, "publish-1");
    expect(first.status).toBe(201);
    const firstBody = await first.text();
    const retry = await publish(t, "publish-1");
    expect(retry.status).toBe(201);
    expect(retry.headers.get("idempotent-replayed")).toBe("true");
    expect(await retry.text()).toBe(firstBody);
    expect(publishResponseSchema.parse(JSON.parse(firstBody)).created).toBe(true);
    // Without the key, the same bytes are the registry's own idempotency: 200, created=false.
    const plain = await h.request("/v1/models/churn/versions", {
      method: "POST",
      token: t.ownerToken,
      body: publishForm(m1.manifestText, m1.bytes, m1.explainer),
    });
    expect(plain.status).toBe(200);
    expect(
      await h.deps.db.select().from(modelVersions).where(eq(modelVersions.tenantId, t.tenantId)),
    ).toHaveLength(1);
  });

  it("creates a user once; the retry is 409 naming the user and never shows the invitation code again", async () => {
    const t = await h.newTenant();
    const body = { email: "once@example.test", role: "analyst" };
    const first = await post("/v1/users", t.ownerToken, "user-1", body);
    expect(first.status).toBe(201);
    const created = (await first.json()) as { user: { id: string }; invitation: { code: string } };
    const retry = await post("/v1/users", t.ownerToken, "user-1", body);
    const text = await retry.clone().text();
    const err = await expectError(retry, 409, "CONFLICT");
    expect(err.error.message).toContain(created.user.id);
    expect(err.error.message).toContain("Already processed");
    expect(retry.headers.get("idempotent-replayed")).toBe("true");
    expect(text).not.toContain(created.invitation.code);
    expect(await h.deps.db.select().from(users).where(eq(users.tenantId, t.tenantId))).toHaveLength(2);
    const stored = await h.cp.database.client.execute("select * from idempotency_keys");
    expect(JSON.stringify(stored.rows)).not.toContain(created.invitation.code);
  });

  it("creates a client and a personal access token once each; secrets are never stored for replay", async () => {
    const t = await h.newTenant();
    const client = await post("/v1/clients", t.ownerToken, "client-1", { name: "ci", scopes: ["predict"] });
    const { client: made, clientSecret } = (await client.json()) as {
      client: { id: string };
      clientSecret: string;
    };
    const again = await expectError(
      await post("/v1/clients", t.ownerToken, "client-1", { name: "ci", scopes: ["predict"] }),
      409,
      "CONFLICT",
    );
    expect(again.error.message).toContain(made.id);
    expect(again.error.message).toContain("rotate");
    expect(await h.deps.db.select().from(apiClients).where(eq(apiClients.tenantId, t.tenantId))).toHaveLength(
      1,
    );

    const pat = await post("/v1/users/me/tokens", t.ownerToken, "pat-1", { name: "laptop" });
    const { id, token } = (await pat.json()) as { id: string; token: string };
    const patAgain = await expectError(
      await post("/v1/users/me/tokens", t.ownerToken, "pat-1", { name: "laptop" }),
      409,
      "CONFLICT",
    );
    expect(patAgain.error.message).toContain(id);
    const stored = JSON.stringify(
      (await h.cp.database.client.execute("select * from idempotency_keys")).rows,
    );
    for (const secret of [clientSecret, token]) expect(stored).not.toContain(secret);
  });

  it("keeps keys per caller, and forgets them after 24 h", async () => {
    const t = await h.newTenant();
    const admin = await t.tokenFor("admin");
    expect(
      (await post("/v1/users", t.ownerToken, "shared", { email: "a@example.test", role: "analyst" })).status,
    ).toBe(201);
    // The same key from another person is theirs alone.
    expect(
      (await post("/v1/users", admin, "shared", { email: "b@example.test", role: "analyst" })).status,
    ).toBe(201);
    await h.deps.db
      .update(idempotencyKeys)
      .set({ createdAt: Date.now() - IDEMPOTENCY_WINDOW_MS - 1 })
      .where(eq(idempotencyKeys.tenantId, t.tenantId));
    expect(
      (await post("/v1/users", t.ownerToken, "shared", { email: "c@example.test", role: "analyst" })).status,
    ).toBe(201);
  });

  it("does not remember failures: a request that failed can be retried with its key", async () => {
    const t = await h.newTenant();
    await expectError(
      await post("/v1/users", t.ownerToken, "retry-me", { email: "bad" }),
      400,
      "INVALID_REQUEST",
    );
    expect(
      (await post("/v1/users", t.ownerToken, "retry-me", { email: "ok@example.test", role: "admin" })).status,
    ).toBe(201);
  });
});

describe("Idempotency-Key: error", () => {
  it("refuses the same key with a different body or route with 409, changing nothing", async () => {
    const t = await h.newTenant();
    expect(
      (await post("/v1/users", t.ownerToken, "k", { email: "x@example.test", role: "analyst" })).status,
    ).toBe(201);
    const err = await expectError(
      await post("/v1/users", t.ownerToken, "k", { email: "y@example.test", role: "analyst" }),
      409,
      "CONFLICT",
    );
    expect(err.error.message).toContain("different request");
    await expectError(
      await post("/v1/clients", t.ownerToken, "k", { name: "x", scopes: ["predict"] }),
      409,
      "CONFLICT",
    );
    const emails = (await h.deps.db.select().from(users).where(eq(users.tenantId, t.tenantId))).map(
      (u) => u.email,
    );
    expect(emails).not.toContain("y@example.test");
  });

  it("lets only one of two simultaneous requests with the same key act; the other is 409", async () => {
    const t = await h.newTenant();
    const body = { email: "race@example.test", role: "analyst" };
    const results = await Promise.all([
      post("/v1/users", t.ownerToken, "race", body),
      post("/v1/users", t.ownerToken, "race", body),
    ]);
    expect(results.map((r) => r.status).sort()).toEqual([201, 409]);
    const emails = (await h.deps.db.select().from(users).where(eq(users.tenantId, t.tenantId))).map(
      (u) => u.email,
    );
    expect(emails.filter((e) => e === "race@example.test")).toHaveLength(1);
  });

  it("refuses a malformed key with 400 naming the header", async () => {
    const t = await h.newTenant();
    for (const key of ["", "x".repeat(256), "has space", "naïve"]) {
      const res = await h.request("/v1/users", {
        method: "POST",
        token: t.ownerToken,
        headers: { "content-type": "application/json", "idempotency-key": key },
        body: JSON.stringify({ email: "k@example.test", role: "analyst" }),
      });
      const err = await expectError(res, 400, "INVALID_REQUEST");
      expect(err.error.issues?.[0]?.path, JSON.stringify(key)).toContain("idempotency-key");
    }
  });
});

describe("Idempotency-Key: security", () => {
  it("never replays one tenant's response to another tenant using the same key", async () => {
    const a = await h.newTenant("A");
    const b = await h.newTenant("B");
    const first = await publish(a, "same-key");
    const aBody = await first.text();
    const other = await publish(b, "same-key");
    expect(other.status).toBe(201);
    expect(other.headers.get("idempotent-replayed")).toBeNull();
    const bVersion = publishResponseSchema.parse(await other.json()).version;
    expect(aBody).not.toContain(bVersion.id);
    expect(bVersion.publishedBy).toBe(`user:${b.ownerId}`);
  });

  it("checks authentication and permission before the key: a refused caller cannot read a stored response", async () => {
    const t = await h.newTenant();
    await publish(t, "guarded");
    const analyst = await t.tokenFor("analyst");
    await expectError(await publish(t, "guarded", analyst), 403, "FORBIDDEN");
    await expectError(await publish(t, "guarded", "churn_pat_forged"), 401, "UNAUTHORIZED");
  });
});
