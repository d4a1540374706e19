import { execFile } from "node:child_process";
import { copyFile, mkdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { createClient } from "@libsql/client";
import { migrate } from "drizzle-orm/libsql/migrator";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type AuditCheckpoint,
  type AuditVerification,
  auditCheckpointFileSchema,
  auditCheckpointMessage,
  auditCheckpointSchema,
} from "#shared/audit.ts";
import { sha256Hex } from "#shared/hash.ts";
import { kvKeys } from "#shared/kv.ts";
import { createControlPlane, listen, type RunningServer } from "../../control-plane/src/control-plane.ts";
import { chainPayload, GENESIS_HASH } from "../../control-plane/src/modules/audit/audit.ts";
import { AUDIT_KEY_FILE } from "../../control-plane/src/modules/audit/audit-key.ts";
import { loadConfig } from "../../control-plane/src/platform/config.ts";
import {
  backupDatabase,
  recordRestore,
  restoreDatabase,
} from "../../control-plane/src/platform/db/backup.ts";
import { openDatabase } from "../../control-plane/src/platform/db/client.ts";
import type { AuditLogRow } from "../../control-plane/src/platform/db/schema/index.ts";
import { main } from "../../trainer/src/cli/main.ts";
import {
  auditHmac,
  type ControlPlaneHarness,
  expectValidAuditChain,
  startControlPlane,
  type TestTenant,
} from "../helpers/control-plane-harness.ts";

/**
 * The audit chain against someone who can write the database but holds neither the audit key nor the
 * checkpoints kept outside it (edge KV, the file beside each backup): edits, rewrites by the old unkeyed
 * rule, a deleted tail and a database swapped for an older copy are all reported, through GET
 * /v1/audit/verify, `churn audit verify` and `npm run db -- verify`.
 */

const root = resolve(import.meta.dirname, "../..");
const run = promisify(execFile);

let h: ControlPlaneHarness;
let server: RunningServer;
/**
 * Each block takes a control plane of its own: the tampering in one would otherwise fail the whole-database
 * backups of the next.
 */
function ownControlPlane(): void {
  beforeAll(async () => {
    h = await startControlPlane();
    server = await listen(h.app, "127.0.0.1", 0);
  });
  afterAll(async () => {
    await server?.close();
    await h?.close();
  });
}

const sql = (statement: string, args: (string | number)[] = []) =>
  h.cp.database.client.execute({ sql: statement, args });

/** What an attacker with the database does first: the append-only triggers are only in their way. */
async function dropAuditTriggers(): Promise<void> {
  for (const trigger of ["audit_log_no_update", "audit_log_no_delete", "audit_log_keyed_only"])
    await sql(`DROP TRIGGER IF EXISTS ${trigger}`);
}

async function chainOf(tenantId: string): Promise<AuditLogRow[]> {
  const res = await sql(
    `SELECT id, tenant_id, seq, action, actor_type, actor_id, targets, details, request_id, ip, user_agent,
            created_at, prev_hash, hash, chain_version FROM audit_log WHERE tenant_id = ? ORDER BY seq`,
    [tenantId],
  );
  return res.rows.map((r) => ({
    id: String(r["id"]),
    tenantId: String(r["tenant_id"]),
    seq: Number(r["seq"]),
    action: String(r["action"]) as AuditLogRow["action"],
    actorType: String(r["actor_type"]),
    actorId: String(r["actor_id"]),
    targets: String(r["targets"]),
    details: String(r["details"]),
    requestId: r["request_id"] === null ? null : String(r["request_id"]),
    ip: r["ip"] === null ? null : String(r["ip"]),
    userAgent: r["user_agent"] === null ? null : String(r["user_agent"]),
    createdAt: Number(r["created_at"]),
    prevHash: String(r["prev_hash"]),
    hash: String(r["hash"]),
    chainVersion: Number(r["chain_version"]),
  }));
}

/**
 * Recomputes every link and hash of the chain from `fromSeq` on by the old unkeyed rule,
 * sha256(prev_hash + payload), as anyone with the database could: today's verification would accept it.
 */
async function rechainUnkeyed(tenantId: string, options: { fromSeq?: number; version?: number } = {}) {
  const rows = await chainOf(tenantId);
  let prev = GENESIS_HASH;
  for (const row of rows) {
    if (row.seq >= (options.fromSeq ?? 1)) {
      const hash = await sha256Hex(prev + chainPayload(row));
      await sql("UPDATE audit_log SET prev_hash = ?, hash = ?, chain_version = ? WHERE id = ?", [
        prev,
        hash,
        options.version ?? row.chainVersion,
        row.id,
      ]);
      prev = hash;
    } else prev = row.hash;
  }
}

async function verify(t: TestTenant): Promise<AuditVerification> {
  const res = await h.request("/v1/audit/verify", { token: t.ownerToken });
  expect(res.status).toBe(200);
  return (await res.json()) as AuditVerification;
}

async function cli(t: TestTenant, ...extra: string[]): Promise<{ code: number; out: string }> {
  const lines: string[] = [];
  const io = { out: (s: string) => lines.push(s), err: (s: string) => lines.push(s) };
  const code = await main(["audit", "verify", "--url", server.url, "--token", t.ownerToken, ...extra], io);
  return { code, out: lines.join("") };
}

async function busyTenant(label: string): Promise<TestTenant> {
  const t = await h.newTenant(label);
  await t.addUser("analyst");
  await t.addApiClient(["models:read"]);
  await t.addUser("auditor");
  return t;
}

async function kvCheckpoint(tenantId: string): Promise<AuditCheckpoint | null> {
  const text = await h.kv.get(kvKeys.auditCheckpoint(tenantId), "text");
  return text === null ? null : auditCheckpointSchema.parse(JSON.parse(text));
}

describe("the keyed audit chain", () => {
  ownControlPlane();
  it("verifies a normal tenant's chain, held to the signed checkpoint the timer's pass put in KV", async () => {
    const t = await busyTenant("Normal");
    const rows = await expectValidAuditChain(h, t.tenantId);
    await h.cp.auditCheckpoints.flush();
    const checkpoint = await kvCheckpoint(t.tenantId);
    expect(checkpoint).toMatchObject({ tenantId: t.tenantId, seq: rows.length, headHash: rows.at(-1)!.hash });
    // Signed with the audit key, computed here with node:crypto.
    expect(checkpoint!.mac).toBe(auditHmac(h, auditCheckpointMessage(checkpoint!)));

    const result = await verify(t);
    expect(result).toMatchObject({ ok: true, tenantId: t.tenantId, entries: rows.length, checkpoint });
    expect(result.firstBad).toBeUndefined();
    expect(result.checkpointProblem).toBeUndefined();

    const { code, out } = await cli(t);
    expect(code, out).toBe(0);
    expect(out).toContain(`audit chain verified: ${rows.length} entries`);
    expect(out).toContain(`matches checkpoint #${rows.length}`);

    // Growing past the checkpoint is normal; the next pass moves it along.
    await t.addUser("analyst");
    const grown = await verify(t);
    expect(grown.ok).toBe(true);
    expect(grown.entries).toBeGreaterThan(rows.length);
    const [outcome] = (await h.cp.auditCheckpoints.flush()).filter((o) => o.tenantId === t.tenantId);
    expect(outcome, JSON.stringify(outcome)).toMatchObject({
      result: "written",
      checkpoint: { seq: grown.entries, headHash: grown.headHash },
    });
  });

  it("names an entry whose details were edited in SQL, even with its hash recomputed by the old rule", async () => {
    const t = await busyTenant("Edited");
    const rows = await expectValidAuditChain(h, t.tenantId);
    await dropAuditTriggers();
    // The last entry: nothing after it to re-link, so the old sha256 chain would verify again.
    const last = rows.at(-1)!;
    const edited = { ...last, details: JSON.stringify({ role: "owner" }) };
    await sql("UPDATE audit_log SET details = ?, hash = ? WHERE id = ?", [
      edited.details,
      await sha256Hex(last.prevHash + chainPayload(edited)),
      last.id,
    ]);
    const result = await verify(t);
    expect(result.ok).toBe(false);
    expect(result.firstBad).toEqual({
      seq: last.seq,
      id: last.id,
      reason: "content does not match its keyed hash (HMAC): edited, or written without the audit key",
    });
    expect(result.entries).toBe(last.seq - 1);

    // An entry in the middle, with everything after it re-linked by the old rule.
    const middle = rows[2]!;
    await sql("UPDATE audit_log SET details = ? WHERE id = ?", ['{"role":"admin"}', middle.id]);
    await rechainUnkeyed(t.tenantId, { fromSeq: middle.seq });
    expect((await verify(t)).firstBad).toMatchObject({ seq: middle.seq, id: middle.id });
    const { code, out } = await cli(t);
    expect(code).toBe(1);
    expect(out).toContain(`audit chain broken at entry #${middle.seq} (${middle.id})`);
  });

  it("fails a whole chain recomputed by the old unkeyed rule with the triggers dropped", async () => {
    for (const version of [1, 2]) {
      const t = await busyTenant(`Rewritten v${version}`);
      const rows = await expectValidAuditChain(h, t.tenantId);
      await dropAuditTriggers();
      await sql("UPDATE audit_log SET details = '{}' WHERE id = ?", [rows[1]!.id]);
      // Marked unkeyed, as entries from before keyed chains are; or left marked keyed.
      await rechainUnkeyed(t.tenantId, { version });
      const result = await verify(t);
      expect(result.ok, `chain version ${version}`).toBe(false);
      expect(result.firstBad, `chain version ${version}`).toMatchObject({ seq: 1, id: rows[0]!.id });
      expect(result.firstBad!.reason).toMatch(
        version === 1 ? /no keyed cut-over after it/ : /does not match its keyed hash/,
      );
      expect(result.entries).toBe(0);
    }
  });

  it("fails a chain whose last entries were deleted, against the checkpoint; the checkpoint is kept as evidence", async () => {
    const t = await busyTenant("Truncated");
    const rows = await expectValidAuditChain(h, t.tenantId);
    await h.cp.auditCheckpoints.flush();
    const checkpoint = await kvCheckpoint(t.tenantId);
    expect(checkpoint?.seq).toBe(rows.length);

    await dropAuditTriggers();
    await sql("DELETE FROM audit_log WHERE tenant_id = ? AND seq > ?", [t.tenantId, rows.length - 3]);
    const result = await verify(t);
    expect(result).toMatchObject({ ok: false, entries: rows.length - 3, checkpoint });
    expect(result.firstBad).toBeUndefined();
    expect(result.checkpointProblem).toBe(
      `the chain ends at entry #${rows.length - 3}, but the checkpoint signed at ${checkpoint!.time} records #${rows.length}: entries #${rows.length - 2} to #${rows.length} were deleted`,
    );
    const { code, out } = await cli(t);
    expect(code).toBe(1);
    expect(out).toContain("audit chain does not reach its checkpoint");

    // New, correctly keyed entries in the deleted places do not make the chain match the checkpoint.
    for (let i = 0; i < 3; i++) await t.addUser("analyst");
    const refilled = await verify(t);
    expect(refilled.ok).toBe(false);
    expect(refilled.firstBad).toMatchObject({ seq: rows.length });
    expect(refilled.firstBad!.reason).toMatch(/differs from the checkpoint signed at/);

    // Nor does waiting for the next checkpoint: the pass refuses to sign the chain, and the old checkpoint
    // stays in KV as the evidence.
    const outcomes = await h.cp.auditCheckpoints.flush();
    expect(outcomes.find((o) => o.tenantId === t.tenantId)).toMatchObject({ result: "refused" });
    expect(await kvCheckpoint(t.tenantId)).toEqual(checkpoint);
    expect(h.logs).toContainEqual(
      expect.objectContaining({ level: "error", event: "audit.checkpoint_refused", tenantId: t.tenantId }),
    );
  });

  it("refuses a checkpoint in KV that the audit key did not sign", async () => {
    const t = await busyTenant("Forged checkpoint");
    const rows = await expectValidAuditChain(h, t.tenantId);
    const forged: AuditCheckpoint = {
      tenantId: t.tenantId,
      seq: rows.length,
      headHash: rows.at(-1)!.hash,
      time: new Date().toISOString(),
      mac: "a".repeat(64),
    };
    await h.kv.put(kvKeys.auditCheckpoint(t.tenantId), JSON.stringify(forged));
    const result = await verify(t);
    expect(result.ok).toBe(false);
    expect(result.checkpointProblem).toMatch(/signature does not verify/);
  });
});

describe("checkpoints outside the database: KV and the backup directory", () => {
  ownControlPlane();
  it("npm run db -- backup writes the chains' checkpoints beside the backup, owner-only; verify holds a cut backup to them", async () => {
    const t = await busyTenant("Backed up");
    const rows = await expectValidAuditChain(h, t.tenantId);
    const backups = join(h.dir, "backups");
    const backup = join(backups, "cp-backup.db");
    const env = { ...process.env, DATABASE_URL: h.config.DATABASE_URL, LOG_LEVEL: "silent" };
    const backedUp = await run(process.execPath, [join(root, "scripts/db.ts"), "backup", "--to", backup], {
      cwd: root,
      env,
    });
    expect(backedUp.stdout).toContain('"ok":true');

    const checkpointFile = `${backup}.audit-checkpoints.json`;
    expect((await stat(checkpointFile)).mode & 0o777).toBe(0o600);
    expect((await stat(backup)).mode & 0o777).toBe(0o600);
    const file = auditCheckpointFileSchema.parse(JSON.parse(await readFile(checkpointFile, "utf8")));
    expect(file.backup).toBe("cp-backup.db");
    const mine = file.checkpoints.find((c) => c.tenantId === t.tenantId)!;
    expect(mine).toMatchObject({ seq: rows.length, headHash: rows.at(-1)!.hash });
    expect(mine.mac).toBe(auditHmac(h, auditCheckpointMessage(mine)));
    expect(file.checkpoints.map((c) => c.tenantId)).toContain("platform");

    const verified = await run(process.execPath, [join(root, "scripts/db.ts"), "verify", backup], {
      cwd: root,
      env,
    });
    expect(JSON.parse(verified.stdout)).toMatchObject({ ok: true, checkpoints: file.checkpoints.length });

    // `churn audit verify --checkpoint` holds the live chain to the backup's checkpoint.
    const matched = await cli(t, "--checkpoint", checkpointFile);
    expect(matched.code, matched.out).toBe(0);
    expect(matched.out).toContain(`checkpoint #${rows.length} of ${mine.time} (file)`);

    // Cut the backup's tail: its own checkpoints expose it.
    const client = createClient({ url: `file:${backup}` });
    await client.execute("DROP TRIGGER audit_log_no_delete");
    await client.execute({
      sql: "DELETE FROM audit_log WHERE tenant_id = ? AND seq > ?",
      args: [t.tenantId, rows.length - 2],
    });
    client.close();
    const failed = await run(process.execPath, [join(root, "scripts/db.ts"), "verify", backup], {
      cwd: root,
      env,
    }).catch((err: { code: number; stdout: string }) => err);
    expect(failed).toMatchObject({ code: 1 });
    const report = JSON.parse((failed as { stdout: string }).stdout) as { ok: boolean; problems: string[] };
    expect(report.ok).toBe(false);
    expect(report.problems.join("\n")).toContain(
      `audit chain of ${t.tenantId}: the chain ends at entry #${rows.length - 2}`,
    );

    // And the live chain, cut the same way, fails `churn audit verify --checkpoint <backup's file>`.
    await dropAuditTriggers();
    await sql("DELETE FROM audit_log WHERE tenant_id = ? AND seq > ?", [t.tenantId, rows.length - 1]);
    const cut = await cli(t, "--checkpoint", checkpointFile);
    expect(cut.code).toBe(1);
    expect(cut.out).toContain("entries were deleted");
  });

  it("keeps the key beside the database, owner-only, and out of the database and the logs", async () => {
    const keyPath = join(h.dir, AUDIT_KEY_FILE);
    expect((await stat(keyPath)).mode & 0o777).toBe(0o600);
    const key = (await readFile(keyPath, "utf8")).trim();
    expect(key.length).toBeGreaterThanOrEqual(32);
    expect(h.cp.auditKey.source).toBe("file");
    await h.cp.auditCheckpoints.flush();
    for (const file of ["cp.db", "cp.db-wal"]) {
      const bytes = await readFile(join(h.dir, file)).catch(() => Buffer.alloc(0));
      expect(bytes.includes(Buffer.from(key)), file).toBe(false);
    }
    expect(JSON.stringify(h.logs)).not.toContain(key);
    expect(String(h.cp.auditKey.secret)).not.toContain(key);
  });

  it("a database swapped for an older backup fails its KV checkpoints until the restore is recorded with the key", async () => {
    const t = await busyTenant("Rolled back");
    const backup = join(h.dir, "rollback.db");
    await backupDatabase(h.cp.database.client, backup);
    await t.addUser("analyst");
    await t.addUser("analyst");
    await h.cp.auditCheckpoints.flush();
    const checkpoint = (await kvCheckpoint(t.tenantId))!;

    const restored = join(h.dir, "rolled-back.db");
    await restoreDatabase(backup, restored, { key: h.cp.auditKey });
    const open = () =>
      createControlPlane(
        loadConfig({
          DATABASE_URL: `file:${restored}`,
          LOG_LEVEL: "silent",
          SCHEDULER_INTERVAL_SECONDS: "0",
        }),
        h.edge,
        { info: () => {}, error: () => {} },
      );
    const verifyOn = async (cp: Awaited<ReturnType<typeof open>>) =>
      (await (
        await cp.app.request("/v1/audit/verify", { headers: { authorization: `Bearer ${t.ownerToken}` } })
      ).json()) as AuditVerification;

    let cp = await open();
    try {
      const rolledBack = await verifyOn(cp);
      expect(rolledBack.ok).toBe(false);
      expect(rolledBack.checkpointProblem).toMatch(/were deleted/);
      expect(rolledBack.checkpoint).toEqual(checkpoint);
    } finally {
      await cp.close();
    }

    // `npm run db -- restore` records the restore in every chain with a keyed entry.
    expect(await recordRestore(restored, h.cp.auditKey, backup)).toBeGreaterThan(0);
    cp = await open();
    try {
      const result = await verifyOn(cp);
      expect(result.ok).toBe(true);
      const [outcome] = (await cp.auditCheckpoints.flush()).filter((o) => o.tenantId === t.tenantId);
      expect(outcome).toMatchObject({ result: "written" });
      expect((await kvCheckpoint(t.tenantId))!.seq).toBe(result.entries);
    } finally {
      await cp.close();
    }
  });
});

describe("the cut-over from unkeyed chains", () => {
  ownControlPlane();
  it("seals a chain written before keys with a keyed cut-over, which then protects its unkeyed entries", async () => {
    // A database as the release before keyed chains left it: migrations up to 0017, sha256 entries.
    const journal = JSON.parse(await readFile(join(root, "migrations/meta/_journal.json"), "utf8")) as {
      entries: { tag: string }[];
    };
    const folder = join(h.dir, "migrations-0017");
    await mkdir(join(folder, "meta"), { recursive: true });
    const before = journal.entries.filter((e) => e.tag < "0018");
    await writeFile(join(folder, "meta/_journal.json"), JSON.stringify({ ...journal, entries: before }));
    for (const { tag } of before)
      await copyFile(join(root, "migrations", `${tag}.sql`), join(folder, `${tag}.sql`));
    const dir = join(h.dir, "legacy");
    await mkdir(dir, { recursive: true });
    const path = join(dir, "cp.db");
    const old = await openDatabase(`file:${path}`);
    let prev = GENESIS_HASH;
    const legacy: AuditLogRow[] = [];
    try {
      await migrate(old.db, { migrationsFolder: folder });
      await old.client.execute(
        "INSERT INTO tenants (id, name, created_at) VALUES ('tnt_legacy', 'Legacy', 1)",
      );
      for (let seq = 1; seq <= 3; seq++) {
        const entry = {
          id: `aud_legacy${seq}`,
          tenantId: "tnt_legacy",
          seq,
          action: "user.create" as const,
          actorType: "system",
          actorId: "old-release",
          targets: "[]",
          details: "{}",
          requestId: null,
          ip: null,
          userAgent: null,
          createdAt: seq,
        };
        const hash = await sha256Hex(prev + chainPayload(entry));
        await old.client.execute({
          sql: `INSERT INTO audit_log (id, tenant_id, seq, action, actor_type, actor_id, targets, details,
                  created_at, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
          args: [
            entry.id,
            entry.tenantId,
            seq,
            entry.action,
            "system",
            "old-release",
            "[]",
            "{}",
            seq,
            prev,
            hash,
          ],
        });
        legacy.push({ ...entry, prevHash: prev, hash, chainVersion: 1 });
        prev = hash;
      }
    } finally {
      old.close();
    }

    const config = loadConfig({
      DATABASE_URL: `file:${path}`,
      LOG_LEVEL: "silent",
      SCHEDULER_INTERVAL_SECONDS: "0",
    });
    const cp = await createControlPlane(config, h.edge, { info: () => {}, error: () => {} });
    try {
      const { verifyChain } = await import("../../control-plane/src/modules/audit/audit-chain.ts");
      const sealed = await verifyChain(cp.deps.db, "tnt_legacy");
      expect(sealed).toMatchObject({ ok: true, entries: 4, unkeyedEntries: 3 });
      const cutOver = (
        await cp.database.client.execute(
          "SELECT action, details, chain_version FROM audit_log WHERE seq = 4 AND tenant_id = 'tnt_legacy'",
        )
      ).rows[0]!;
      expect(cutOver["action"]).toBe("audit.chain_keyed");
      expect(Number(cutOver["chain_version"])).toBe(2);
      expect(JSON.parse(String(cutOver["details"]))).toEqual({ unkeyedEntries: 3, unkeyedHead: prev });

      // Rewriting an unkeyed entry and re-linking the unkeyed part by the old rule breaks at the cut-over.
      await cp.database.client.execute("DROP TRIGGER audit_log_no_update");
      const edited = { ...legacy[1]!, details: '{"role":"owner"}' };
      const hash2 = await sha256Hex(edited.prevHash + chainPayload(edited));
      const hash3 = await sha256Hex(hash2 + chainPayload(legacy[2]!));
      await cp.database.client.execute({
        sql: "UPDATE audit_log SET details = ?, hash = ? WHERE seq = 2 AND tenant_id = 'tnt_legacy'",
        args: [edited.details, hash2],
      });
      await cp.database.client.execute({
        sql: "UPDATE audit_log SET prev_hash = ?, hash = ? WHERE seq = 3 AND tenant_id = 'tnt_legacy'",
        args: [hash2, hash3],
      });
      await cp.database.client.execute({
        sql: "UPDATE audit_log SET prev_hash = ? WHERE seq = 4 AND tenant_id = 'tnt_legacy'",
        args: [hash3],
      });
      expect((await verifyChain(cp.deps.db, "tnt_legacy")).firstBad).toMatchObject({
        seq: 4,
        reason: expect.stringMatching(/keyed hash/),
      });
    } finally {
      await cp.close();
    }

    // Once a chain is keyed, its key must not silently be replaced: without it, the start is refused.
    await rm(join(dir, AUDIT_KEY_FILE));
    await expect(createControlPlane(config, h.edge, { info: () => {}, error: () => {} })).rejects.toThrow(
      /no audit key/,
    );
  });
});
