import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AUDIT_ACTIONS } from "#shared/audit.ts";
import { edgeDeploymentSchema, kvKeys } from "#shared/kv.ts";
import { deploymentSchema } from "#shared/registry.ts";
import {
  chainPayload,
  GENESIS_HASH,
  PLATFORM_AUDIT_CHAIN,
} from "../../control-plane/src/modules/audit/audit.ts";
import { type AuditLogRow, auditLog } from "../../control-plane/src/platform/db/schema/index.ts";
import {
  auditHmac,
  type ControlPlaneHarness,
  expectValidAuditChain,
  type Fixture,
  publishForm,
  startControlPlane,
} from "../helpers/control-plane-harness.ts";

let h: ControlPlaneHarness;
let m1: Fixture;
let m2: Fixture;
beforeAll(async () => {
  h = await startControlPlane();
  [m1, m2] = await Promise.all([h.fixture(7), h.fixture(8)]);
});
afterAll(() => h?.close());

/** The seq of the first entry whose links or keyed hash do not verify, or null when the chain is intact. */
async function firstBreak(rows: AuditLogRow[]): Promise<number | null> {
  let prev = GENESIS_HASH;
  for (const [i, row] of rows.entries()) {
    if (row.seq !== i + 1 || row.prevHash !== prev) return row.seq;
    if (row.hash !== auditHmac(h, prev + chainPayload(row))) return row.seq;
    prev = row.hash;
  }
  return null;
}

const raw = (sql: string, args: (string | number)[] = []) => h.cp.database.client.execute({ sql, args });

describe("audit log: a hash chain per tenant", () => {
  it("chains every entry from the genesis hash with seq 1..n, in the order things happened", async () => {
    const t = await h.newTenant();
    await t.addUser("analyst");
    await t.addApiClient(["models:read"]);
    const v = await t.publish(m1);
    await t.deploy(v.id);

    const rows = await expectValidAuditChain(h, t.tenantId);
    expect(rows[0]!.prevHash).toBe("0".repeat(64));
    expect(rows.map((r) => r.action)).toEqual([
      "tenant.create",
      "user.create",
      "pat.create",
      "user.create",
      "invitation.create",
      "invitation.redeem",
      "client.create",
      "model.create",
      "model_version.publish",
      "deployment.update",
    ]);
    for (const row of rows) expect(AUDIT_ACTIONS).toContain(row.action);
    expect(rows.every((r) => r.tenantId === t.tenantId)).toBe(true);
  });

  it("keeps tenants' chains independent when their actions interleave", async () => {
    const a = await h.newTenant("A");
    const b = await h.newTenant("B");
    await a.addUser("admin");
    await b.addUser("admin");
    const va = await a.publish(m1);
    const vb = await b.publish(m1);
    await b.deploy(vb.id);
    await a.deploy(va.id);

    const chainA = await expectValidAuditChain(h, a.tenantId);
    const chainB = await expectValidAuditChain(h, b.tenantId);
    expect(chainA[0]!.prevHash).toBe(GENESIS_HASH);
    expect(chainB[0]!.prevHash).toBe(GENESIS_HASH);
    const hashesA = new Set(chainA.map((r) => r.hash));
    expect(chainB.some((r) => hashesA.has(r.prevHash))).toBe(false);
  });

  it("keeps platform actions (signing keys) on their own chain", async () => {
    const before = await expectValidAuditChain(h, PLATFORM_AUDIT_CHAIN);
    expect(before.map((r) => r.action)).toContain("key.create");
    const oldKid = h.deps.keys.active().kid;
    const kid = await h.deps.keys.rotate();
    const after = await expectValidAuditChain(h, PLATFORM_AUDIT_CHAIN);
    // The new key's creation, then the old key's retirement.
    expect(after).toHaveLength(before.length + 2);
    const [created, retired] = after.slice(-2);
    expect(created).toMatchObject({ action: "key.create", actorType: "system" });
    expect(JSON.parse(created!.targets)).toEqual([{ type: "key", id: kid }]);
    expect(retired).toMatchObject({ action: "key.retire", actorType: "system" });
    expect(JSON.parse(retired!.targets)).toEqual([{ type: "key", id: oldKid }]);
    expect(JSON.parse(retired!.details)).toMatchObject({ replacedBy: kid });
  });

  it("records who did it, with the request id and user agent of the request", async () => {
    const t = await h.newTenant();
    const res = await h.request("/v1/models/churn/versions", {
      method: "POST",
      token: t.ownerToken,
      headers: { "user-agent": "churn-cli/1.0 (audit test)" },
      body: publishForm(m1.manifestText, m1.bytes, m1.explainer),
    });
    expect(res.status).toBe(201);
    const rows = await expectValidAuditChain(h, t.tenantId);
    const publish = rows.find((r) => r.action === "model_version.publish")!;
    expect(publish).toMatchObject({
      actorType: "user",
      actorId: t.ownerId,
      requestId: res.headers.get("x-request-id"),
      userAgent: "churn-cli/1.0 (audit test)",
    });
  });
});

describe("audit log: append-only", () => {
  it("refuses UPDATE through the libSQL client, and the entries stay as they were", async () => {
    const t = await h.newTenant();
    const before = await expectValidAuditChain(h, t.tenantId);
    for (const sql of [
      "UPDATE audit_log SET details = '{}' WHERE tenant_id = ?",
      "UPDATE audit_log SET hash = prev_hash WHERE tenant_id = ?",
      "UPDATE audit_log SET tenant_id = 'tnt_elsewhere' WHERE tenant_id = ?",
    ]) {
      await expect(raw(sql, [t.tenantId]), sql).rejects.toThrow(/append-only/);
    }
    expect(await expectValidAuditChain(h, t.tenantId)).toEqual(before);
  });

  it("refuses DELETE through the libSQL client, for one entry or all of them", async () => {
    const t = await h.newTenant();
    const before = await expectValidAuditChain(h, t.tenantId);
    await expect(raw("DELETE FROM audit_log WHERE tenant_id = ?", [t.tenantId])).rejects.toThrow(
      /append-only/,
    );
    await expect(raw("DELETE FROM audit_log WHERE id = ?", [before.at(-1)!.id])).rejects.toThrow(
      /append-only/,
    );
    expect(await expectValidAuditChain(h, t.tenantId)).toEqual(before);
  });

  it("refuses UPDATE and DELETE through drizzle too", async () => {
    const t = await h.newTenant();
    const before = await expectValidAuditChain(h, t.tenantId);
    await expect(
      h.deps.db.update(auditLog).set({ action: "token.issue" }).where(eq(auditLog.tenantId, t.tenantId)),
    ).rejects.toThrow();
    await expect(h.deps.db.delete(auditLog).where(eq(auditLog.tenantId, t.tenantId))).rejects.toThrow();
    expect(await expectValidAuditChain(h, t.tenantId)).toEqual(before);
  });

  it("would expose an edited entry: changing any hashed field breaks the chain at that entry", async () => {
    const t = await h.newTenant();
    const rows = await expectValidAuditChain(h, t.tenantId);
    expect(await firstBreak(rows)).toBeNull();
    const edits: Partial<AuditLogRow>[] = [
      { action: "token.issue" },
      { actorId: "usr_someone_else" },
      { targets: "[]" },
      { details: '{"role":"admin"}' },
      { createdAt: rows[1]!.createdAt + 1 },
      { tenantId: "tnt_other" },
    ];
    for (const edit of edits) {
      const tampered = rows.map((r, i) => (i === 1 ? { ...r, ...edit } : r));
      expect(await firstBreak(tampered), JSON.stringify(edit)).toBe(rows[1]!.seq);
    }
    // Dropping an entry breaks the chain at the next one.
    expect(await firstBreak([rows[0]!, ...rows.slice(2)])).toBe(rows[2]!.seq);
  });

  it("exposes an appended forgery whose hash does not follow from its content", async () => {
    const t = await h.newTenant();
    const rows = await expectValidAuditChain(h, t.tenantId);
    const last = rows.at(-1)!;
    await raw(
      `INSERT INTO audit_log (id, tenant_id, seq, action, actor_type, actor_id, targets, details,
         request_id, ip, user_agent, created_at, prev_hash, hash, chain_version)
       VALUES (?, ?, ?, 'client.create', 'user', ?, '[]', '{}', NULL, NULL, NULL, ?, ?, ?, 2)`,
      ["aud_forged", t.tenantId, last.seq + 1, t.ownerId, Date.now(), last.hash, "f".repeat(64)],
    );
    const after = await h.deps.db
      .select()
      .from(auditLog)
      .where(eq(auditLog.tenantId, t.tenantId))
      .orderBy(auditLog.seq);
    expect(await firstBreak(after)).toBe(last.seq + 1);
    // Nor can a forgery take an existing seq.
    await expect(
      raw(
        `INSERT INTO audit_log (id, tenant_id, seq, action, actor_type, actor_id, targets, details,
           created_at, prev_hash, hash, chain_version) VALUES ('aud_dup', ?, 1, 'tenant.create', 'system', 'x', '[]', '{}', 0, ?, ?, 2)`,
        [t.tenantId, GENESIS_HASH, "e".repeat(64)],
      ),
    ).rejects.toThrow(/UNIQUE/);
  });
});

const errors = () => h.logs.filter((l) => l["level"] === "error");

describe("audit log: concurrent writes keep every chain intact", () => {
  it("serializes simultaneous deployment changes of one tenant into revisions 1..n", async () => {
    const t = await h.newTenant();
    const v1 = await t.publish(m1);
    const n = 6;
    const results = await Promise.all(
      Array.from({ length: n }, (_, i) =>
        h.request("/v1/deployment", {
          method: "PUT",
          token: t.ownerToken,
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ production: v1.id, reason: `change ${i}` }),
        }),
      ),
    );
    expect(results.map((r) => r.status)).toEqual(Array(n).fill(200));
    const revisions = await Promise.all(
      results.map(async (r) => deploymentSchema.parse(await r.json()).revision),
    );
    expect(revisions.sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6]);
    const pointer = edgeDeploymentSchema.parse(
      JSON.parse((await h.kv.get(kvKeys.deployment(t.tenantId), "text"))!),
    );
    expect(pointer.revision).toBe(n);
    const chain = await expectValidAuditChain(h, t.tenantId);
    expect(chain.filter((r) => r.action === "deployment.update")).toHaveLength(n);
    expect(errors()).toEqual([]);
  });

  it("lets several tenants publish and deploy at the same time", async () => {
    const tenants = await Promise.all([h.newTenant("P"), h.newTenant("Q"), h.newTenant("R")]);
    const published = await Promise.all(tenants.flatMap((t) => [t.publish(m1), t.publish(m2, "second")]));
    expect(published.map((v) => v.version)).toEqual([1, 1, 1, 1, 1, 1]);
    const deployed = await Promise.all(tenants.map((t, i) => t.deploy(published[2 * i]!.id)));
    expect(deployed.map((d) => d.revision)).toEqual([1, 1, 1]);
    for (const t of tenants) await expectValidAuditChain(h, t.tenantId);
    expect(errors()).toEqual([]);
  });

  it("keeps one version per distinct upload when the same model is published twice at once", async () => {
    const t = await h.newTenant();
    const [a, b] = await Promise.all([t.publish(m1), t.publish(m1)]);
    expect(a.id).toBe(b.id);
    const [c, d] = await Promise.all([t.publish(m2), t.publish(m2)]);
    expect(c.id).toBe(d.id);
    expect(c.version).toBe(2);
    await expectValidAuditChain(h, t.tenantId);
    expect(errors()).toEqual([]);
  });
});
