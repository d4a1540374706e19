import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { kvKeys } from "#shared/kv.ts";
import { STARTUP_SYNC_LEASE } from "../../control-plane/src/control-plane.ts";
import { publishPointer } from "../../control-plane/src/modules/deployments/deployments.ts";
import { startMonitoringMaintenance } from "../../control-plane/src/modules/monitoring/retention.ts";
import { writeTransaction } from "../../control-plane/src/platform/db/write-transaction.ts";
import type { EdgeStore } from "../../control-plane/src/platform/edge-store/edge-store.ts";
import { Lease } from "../../control-plane/src/platform/lease.ts";
import { startScheduler } from "../../control-plane/src/platform/scheduler/tick.ts";
import { type ControlPlaneHarness, startControlPlane } from "../helpers/control-plane-harness.ts";

/**
 * Two control-plane processes on one database: a key rotated on one must not make tokens it signs fail on
 * the other, the other must start signing with the new key too, and only one runs the scheduler.
 */
let dir: string;
let a: ControlPlaneHarness;
let b: ControlPlaneHarness;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "churn-replicas-"));
  const shared = { DATABASE_URL: `file:${join(dir, "shared.db")}` };
  a = await startControlPlane(shared);
  b = await startControlPlane(shared);
});
afterAll(async () => {
  await a?.close();
  await b?.close();
  await rm(dir, { recursive: true, force: true });
});

const kidOf = (token: string) =>
  (JSON.parse(Buffer.from(token.split(".")[0]!, "base64url").toString()) as { kid: string }).kid;

describe("key rotation across control-plane processes", () => {
  it("verifies on one process a token signed with a key the other rotated in a moment ago", async () => {
    const tenant = await a.newTenant("replicas");
    const before = await tenant.clientToken(["models:read"]);
    expect((await b.request("/v1/models/none/versions", { token: before })).status).toBe(404);

    const rotated = await a.deps.keys.rotate();
    const after = await tenant.clientToken(["models:read"]);
    expect(kidOf(after)).toBe(rotated);
    // B has not synced yet: the unknown key id makes it reload the keys once, then the token verifies.
    expect((await b.request("/v1/models/none/versions", { token: after })).status).toBe(404);
    expect(b.deps.keys.jwks.keys.map((k) => k.kid)).toContain(rotated);
  });

  it("moves the other process's signer to the new key when it syncs", async () => {
    const rotated = await a.deps.keys.rotate();
    expect(b.deps.keys.active().kid).not.toBe(rotated);
    expect(await b.deps.keys.syncFromDatabase()).toBe(true);
    expect(b.deps.keys.active().kid).toBe(rotated);
    expect(await b.deps.keys.syncFromDatabase()).toBe(false);
  });

  it("reloads for unknown key ids at most once a second, and a caller inside that second waits for the next", async () => {
    const rotated = await a.deps.keys.rotate();
    const first = Date.now();
    await b.deps.keys.reloadForUnknownKey();
    expect(b.deps.keys.jwks.keys.map((k) => k.kid)).toContain(rotated);
    // A second key, and a reload asked for at once: it waits out the second, then finds the key.
    const again = await a.deps.keys.rotate();
    await Promise.all([b.deps.keys.reloadForUnknownKey(), b.deps.keys.reloadForUnknownKey()]);
    expect(Date.now() - first).toBeGreaterThanOrEqual(950);
    expect(b.deps.keys.jwks.keys.map((k) => k.kid)).toContain(again);
    expect(b.deps.keys.active().kid).toBe(again);
  });
});

describe("the scheduler's lease across control-plane processes", () => {
  it("lets one process hold it, renew it, and another take it only once it expires or is released", async () => {
    const name = "test-lease";
    const first = new Lease(a.deps.db, name, 1_000);
    const second = new Lease(b.deps.db, name, 1_000);
    const t = Date.now();
    expect(await first.acquire(t)).toBe(true);
    expect(await second.acquire(t + 10)).toBe(false);
    expect(await first.acquire(t + 500)).toBe(true); // renewed until t + 1500
    expect(await second.acquire(t + 1_200)).toBe(false);
    expect(await second.acquire(t + 1_600)).toBe(true); // the first stopped renewing
    expect(await first.acquire(t + 1_700)).toBe(false);
    await second.release();
    expect(await first.acquire(t + 1_800)).toBe(true);
  });

  it("runs each process's monitoring retention under one lease too", async () => {
    const one = startMonitoringMaintenance(a.deps, 60_000);
    const two = startMonitoringMaintenance(b.deps, 60_000);
    try {
      expect(await one.lease.acquire()).toBe(true);
      expect(await two.lease.acquire()).toBe(false);
    } finally {
      one.stop();
      two.stop();
      await one.lease.release();
    }
  });

  it("runs each process's scheduler under the same lease, so one ticks at a time", async () => {
    const one = startScheduler(a.deps, 60_000);
    const two = startScheduler(b.deps, 60_000);
    try {
      expect(await one.lease.acquire()).toBe(true);
      expect(await two.lease.acquire()).toBe(false);
    } finally {
      await one.stop();
      await two.stop();
    }
  });
});

describe("deployment pointers published from several processes", () => {
  it("leaves the edge with what the database says when another process commits between the read and the put", async () => {
    const tenant = await a.newTenant("pointer-race");
    const version = await tenant.publish(await a.fixture());
    await tenant.deploy(version.id);
    // The edge store acts as if another process changed the tenant's settings (and published them first)
    // while this process's put was in flight: the put it is doing is already stale when it lands.
    let raced = false;
    const racing: EdgeStore = {
      ...a.edge,
      async put(key, value) {
        await a.edge.put(key, value);
        if (!raced) {
          raced = true;
          await writeTransaction(a.deps.db, (tx) =>
            tx.run(sql`update tenants set allow_unknown_fields = 1 where id = ${tenant.tenantId}`),
          );
        }
      },
    };
    await publishPointer(a.deps.db, racing, tenant.tenantId);
    const pointer = JSON.parse((await a.edge.get(kvKeys.deployment(tenant.tenantId)))!) as {
      allowUnknownFields: boolean;
    };
    expect(raced).toBe(true);
    expect(pointer.allowUnknownFields).toBe(true);
  });
});

describe("the start-up sync across control-plane processes", () => {
  it("is left to the process holding its lease, and done again by one started after", async () => {
    const tenant = await a.newTenant("startup-sync");
    await tenant.deploy((await tenant.publish(await a.fixture())).id);
    const pointerKey = kvKeys.deployment(tenant.tenantId);
    const shared = { DATABASE_URL: `file:${join(dir, "shared.db")}` };

    // Each harness has its own empty KV: the pointer is there after start-up only if that process synced.
    const holder = new Lease(a.deps.db, STARTUP_SYNC_LEASE, 60_000);
    expect(await holder.acquire()).toBe(true);
    const whileHeld = await startControlPlane(shared);
    try {
      expect(await whileHeld.edge.get(pointerKey)).toBeNull();
    } finally {
      await whileHeld.close();
      await holder.release();
    }
    const afterwards = await startControlPlane(shared);
    try {
      expect(await afterwards.edge.get(pointerKey)).not.toBeNull();
    } finally {
      await afterwards.close();
    }
  });
});

describe("login throttles across control-plane processes", () => {
  it("counts a source's failed secrets on one process against it on the other", async () => {
    const tenant = await a.newTenant("throttle-replicas");
    const client = await tenant.addApiClient(["predict"]);
    const exchange = (on: ControlPlaneHarness, secret: string) =>
      on.request("/v1/oauth/token", {
        method: "POST",
        headers: {
          "content-type": "application/x-www-form-urlencoded",
          authorization: `Basic ${Buffer.from(`${client.clientId}:${secret}`).toString("base64")}`,
        },
        body: "grant_type=client_credentials",
      });
    for (let i = 0; i < 10; i++) expect((await exchange(i % 2 ? a : b, `wrong-${i}`)).status).toBe(401);
    expect((await exchange(a, "wrong")).status).toBe(429);
    expect((await exchange(b, "wrong")).status).toBe(429);
  });
});
