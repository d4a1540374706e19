import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AuditEntry, auditEntrySchema } from "#shared/audit.ts";
import {
  type AuditContext,
  appendAudit,
  chainPayload,
  GENESIS_HASH,
} from "../../control-plane/src/modules/audit/audit.ts";
import { auditJsonLines, verifyChain } from "../../control-plane/src/modules/audit/audit-chain.ts";
import { auditLog } from "../../control-plane/src/platform/db/schema/index.ts";
import { writeTransaction } from "../../control-plane/src/platform/db/write-transaction.ts";
import {
  auditHmac,
  type ControlPlaneHarness,
  expectValidAuditChain,
  startControlPlane,
} from "../helpers/control-plane-harness.ts";

/**
 * Verification and export of a tenant's audit chain: what `/v1/audit/verify` and the exports report for an
 * intact chain, for forged entries appended behind the application's back (the table is append-only, so
 * inserts are the only way in), and for chains longer than one page of reads.
 */

let h: ControlPlaneHarness;
beforeAll(async () => {
  h = await startControlPlane();
});
afterAll(() => h?.close());

const SYSTEM: AuditContext = {
  actor: { type: "system", id: "audit-chain-test" },
  requestId: "req_audit_chain_test",
  ip: "203.0.113.9",
  userAgent: "audit-test/1",
};

async function appendEntries(tenantId: string, count: number): Promise<void> {
  await writeTransaction(h.deps.db, async (tx) => {
    for (let i = 0; i < count; i++) {
      await appendAudit(tx, SYSTEM, {
        tenantId,
        action: "limits.update",
        targets: [{ type: "tenant", id: tenantId }],
        details: { step: i },
      });
    }
  });
}

/** Extends the chain by `count` correctly linked entries in a few bulk inserts (faster than one by one). */
async function extendChainInBulk(tenantId: string, count: number): Promise<void> {
  const rows = await expectValidAuditChain(h, tenantId);
  let prevHash = rows.at(-1)!.hash;
  let seq = rows.at(-1)!.seq;
  const batch = [];
  for (let i = 0; i < count; i++) {
    seq++;
    const entry = {
      id: `aud_bulk${String(seq).padStart(16, "0")}`,
      tenantId,
      seq,
      action: "limits.update" as const,
      actorType: "system",
      actorId: "audit-chain-test",
      targets: "[]",
      details: "{}",
      requestId: null,
      ip: null,
      userAgent: null,
      createdAt: Date.now(),
    };
    const hash = auditHmac(h, prevHash + chainPayload(entry));
    batch.push({ ...entry, prevHash, hash, chainVersion: 2 });
    prevHash = hash;
  }
  for (let i = 0; i < batch.length; i += 200)
    await h.deps.db.insert(auditLog).values(batch.slice(i, i + 200));
}

/**
 * Inserts a keyed entry directly, behind the application's back; hashed with the harness's audit key
 * unless `hash` is given (as a forger, without the key, would have to).
 */
async function insertForged(
  tenantId: string,
  entry: { id: string; seq: number; prevHash: string; hash?: string },
): Promise<void> {
  const createdAt = Date.now();
  const payload = JSON.stringify([
    entry.id,
    tenantId,
    entry.seq,
    "client.create",
    "user",
    "usr_forger",
    "[]",
    "{}",
    null,
    null,
    null,
    createdAt,
  ]);
  const hash = entry.hash ?? auditHmac(h, entry.prevHash + payload);
  await h.cp.database.client.execute({
    sql: `INSERT INTO audit_log (id, tenant_id, seq, action, actor_type, actor_id, targets, details,
            request_id, ip, user_agent, created_at, prev_hash, hash, chain_version)
          VALUES (?, ?, ?, 'client.create', 'user', 'usr_forger', '[]', '{}', NULL, NULL, NULL, ?, ?, ?, 2)`,
    args: [entry.id, tenantId, entry.seq, createdAt, entry.prevHash, hash],
  });
}

async function exportedEntries(tenantId: string): Promise<{ chunks: string[]; entries: AuditEntry[] }> {
  const chunks: string[] = [];
  for await (const chunk of auditJsonLines(h.deps.db, tenantId)) chunks.push(chunk);
  const lines = chunks.join("").split("\n");
  expect(lines.pop()).toBe("");
  return { chunks, entries: lines.map((line) => auditEntrySchema.parse(JSON.parse(line))) };
}

describe("audit chain verification", () => {
  it("reports an intact chain with its entry count and the hash of its head", async () => {
    const t = await h.newTenant();
    await appendEntries(t.tenantId, 2);
    const rows = await expectValidAuditChain(h, t.tenantId);
    expect(await verifyChain(h.deps.db, t.tenantId)).toEqual({
      ok: true,
      entries: rows.length,
      headHash: rows.at(-1)!.hash,
    });
  });

  it("reports an empty chain as intact, headed by the genesis hash of 64 zeros", async () => {
    expect(await verifyChain(h.deps.db, "tnt_without_entries000000")).toEqual({
      ok: true,
      entries: 0,
      headHash: "0".repeat(64),
    });
  });

  it("hashes exactly the documented fields, so an entry chained by that recipe verifies", async () => {
    const t = await h.newTenant();
    const rows = await expectValidAuditChain(h, t.tenantId);
    const last = rows.at(-1)!;
    // HMAC-SHA256(audit key, prev_hash + JSON [id, tenant, seq, action, actor type, actor id, targets,
    // details, request id, ip, user agent, created at]), computed here without the application's own helper.
    await insertForged(t.tenantId, { id: "aud_byrecipe", seq: last.seq + 1, prevHash: last.hash });
    expect(await verifyChain(h.deps.db, t.tenantId)).toMatchObject({ ok: true, entries: rows.length + 1 });
    expect(last.id).toMatch(/^aud_/);
  });

  it("chains platform-wide actions, such as the first signing key, under the platform's own chain", async () => {
    const platform = await verifyChain(h.deps.db, "platform");
    expect(platform.ok).toBe(true);
    expect(platform.entries).toBeGreaterThan(0);
    const { entries } = await exportedEntries("platform");
    expect(entries[0]).toMatchObject({
      tenantId: "platform",
      action: "key.create",
      prevHash: "0".repeat(64),
    });
  });

  it("names an appended entry whose hash does not follow from its content", async () => {
    const t = await h.newTenant();
    const rows = await expectValidAuditChain(h, t.tenantId);
    const last = rows.at(-1)!;
    await insertForged(t.tenantId, {
      id: "aud_badhash",
      seq: last.seq + 1,
      prevHash: last.hash,
      hash: "f".repeat(64),
    });
    expect(await verifyChain(h.deps.db, t.tenantId)).toEqual({
      ok: false,
      entries: rows.length,
      firstBad: {
        seq: last.seq + 1,
        id: "aud_badhash",
        reason: "content does not match its keyed hash (HMAC): edited, or written without the audit key",
      },
      headHash: last.hash,
    });
  });

  it("names an entry that links to anything but the entry before it", async () => {
    const t = await h.newTenant();
    const rows = await expectValidAuditChain(h, t.tenantId);
    const last = rows.at(-1)!;
    // Correctly hashed over its own content, but chained to the genesis instead of the head.
    await insertForged(t.tenantId, { id: "aud_badlink", seq: last.seq + 1, prevHash: GENESIS_HASH });
    const result = await verifyChain(h.deps.db, t.tenantId);
    expect(result.ok).toBe(false);
    expect(result.firstBad).toEqual({
      seq: last.seq + 1,
      id: "aud_badlink",
      reason: "prev_hash does not match the previous entry",
    });
  });

  it("names the entry after a gap in the sequence", async () => {
    const t = await h.newTenant();
    const rows = await expectValidAuditChain(h, t.tenantId);
    const last = rows.at(-1)!;
    await insertForged(t.tenantId, { id: "aud_gap", seq: last.seq + 2, prevHash: last.hash });
    const result = await verifyChain(h.deps.db, t.tenantId);
    expect(result).toEqual({
      ok: false,
      entries: rows.length,
      firstBad: {
        seq: last.seq + 2,
        id: "aud_gap",
        reason: `expected seq ${last.seq + 1}: an entry is missing or out of order`,
      },
      headHash: last.hash,
    });
  });

  it("verifies and exports chains longer than one page of reads, in order", async () => {
    const t = await h.newTenant();
    await extendChainInBulk(t.tenantId, 1_100);
    const rows = await expectValidAuditChain(h, t.tenantId);
    expect(rows.length).toBeGreaterThan(1_100);
    expect(await verifyChain(h.deps.db, t.tenantId)).toEqual({
      ok: true,
      entries: rows.length,
      headHash: rows.at(-1)!.hash,
    });

    const { chunks, entries } = await exportedEntries(t.tenantId);
    expect(chunks).toHaveLength(2);
    expect(entries.map((e) => e.seq)).toEqual(rows.map((r) => r.seq));
    expect(entries.map((e) => e.hash)).toEqual(rows.map((r) => r.hash));

    // A forgery on the second page is found there too.
    const last = rows.at(-1)!;
    await insertForged(t.tenantId, { id: "aud_late", seq: last.seq + 1, prevHash: GENESIS_HASH });
    expect((await verifyChain(h.deps.db, t.tenantId)).firstBad?.seq).toBe(last.seq + 1);
  });

  it("exports each entry with its actor, targets, details, request context and links", async () => {
    const t = await h.newTenant();
    await appendEntries(t.tenantId, 1);
    const rows = await expectValidAuditChain(h, t.tenantId);
    const { chunks, entries } = await exportedEntries(t.tenantId);
    expect(chunks).toHaveLength(1);
    const last = rows.at(-1)!;
    expect(entries.at(-1)).toEqual({
      id: last.id,
      tenantId: t.tenantId,
      seq: last.seq,
      action: "limits.update",
      actor: { type: "system", id: "audit-chain-test" },
      targets: [{ type: "tenant", id: t.tenantId }],
      details: { step: 0 },
      requestId: "req_audit_chain_test",
      ip: "203.0.113.9",
      userAgent: "audit-test/1",
      createdAt: new Date(last.createdAt).toISOString(),
      prevHash: rows.at(-2)!.hash,
      hash: last.hash,
    });
  });

  it("exports nothing for a tenant without entries", async () => {
    expect((await exportedEntries("tnt_without_entries000000")).chunks).toEqual([]);
  });
});
