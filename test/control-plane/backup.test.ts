import { join } from "node:path";
import { createClient } from "@libsql/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createControlPlane } from "../../control-plane/src/control-plane.ts";
import { loadConfig } from "../../control-plane/src/platform/config.ts";
import { backupDatabase, restoreDatabase, verifyBackup } from "../../control-plane/src/platform/db/backup.ts";
import { type ControlPlaneHarness, startControlPlane } from "../helpers/control-plane-harness.ts";

let h: ControlPlaneHarness;
beforeAll(async () => {
  h = await startControlPlane();
});
afterAll(() => h?.close());

async function auditCount(tenantId: string): Promise<number> {
  const res = await h.request("/v1/audit/verify", { token: await tenantToken(tenantId) });
  return ((await res.json()) as { entries: number }).entries;
}

const tokens = new Map<string, string>();
const tenantToken = async (tenantId: string) => tokens.get(tenantId)!;

describe("backup and restore", () => {
  it("backs up while writes continue, and the restored database serves a verified audit chain", async () => {
    const tenant = await h.newTenant("Backup");
    tokens.set(tenant.tenantId, tenant.ownerToken);
    for (let i = 0; i < 5; i++) await tenant.addUser("analyst");

    // Audited writes keep landing while the backup runs.
    let writing = true;
    let written = 0;
    const writer = (async () => {
      while (writing) {
        await tenant.addUser("analyst");
        written++;
      }
    })();
    while (written < 3) await new Promise((r) => setTimeout(r, 5));
    const before = await auditCount(tenant.tenantId);
    const backupPath = join(h.dir, "backup.db");
    const result = await backupDatabase(h.cp.database.client, backupPath);
    const after = await auditCount(tenant.tenantId);
    writing = false;
    await writer;
    expect(written).toBeGreaterThan(3);
    expect(result.bytes).toBeGreaterThan(0);

    const verification = await verifyBackup(backupPath, { key: h.cp.auditKey });
    expect(verification.problems).toEqual([]);
    expect(verification.ok).toBe(true);
    const chain = verification.chains.find((c) => c.tenantId === tenant.tenantId)!;
    // A snapshot: everything committed before the backup began, nothing after it returned.
    expect(chain.entries).toBeGreaterThanOrEqual(before);
    expect(chain.entries).toBeLessThanOrEqual(after);

    const restoredPath = join(h.dir, "restored.db");
    await restoreDatabase(backupPath, restoredPath, { key: h.cp.auditKey });
    const restored = await createControlPlane(
      loadConfig({ DATABASE_URL: `file:${restoredPath}`, LOG_LEVEL: "silent" }),
      h.edge,
      { info: () => {}, error: () => {} },
    );
    try {
      const res = await restored.app.request("/v1/audit/verify", {
        headers: { authorization: `Bearer ${tenant.ownerToken}` },
      });
      expect(res.status).toBe(200);
      const body = (await res.json()) as { ok: boolean; entries: number; headHash: string };
      expect(body.ok).toBe(true);
      expect(body.entries).toBe(chain.entries);
      expect(body.headHash).toBe(chain.headHash);
    } finally {
      restored.close();
    }
  });

  it("refuses to restore a backup whose audit chain was edited", async () => {
    const tenant = await h.newTenant("Tamper");
    await tenant.addUser("auditor");
    const backupPath = join(h.dir, "tampered.db");
    await backupDatabase(h.cp.database.client, backupPath);
    const client = createClient({ url: `file:${backupPath}` });
    await client.execute("DROP TRIGGER audit_log_no_update");
    await client.execute({
      sql: "UPDATE audit_log SET action = 'user.update' WHERE tenant_id = ? AND seq = 2",
      args: [tenant.tenantId],
    });
    client.close();

    const verification = await verifyBackup(backupPath, { key: h.cp.auditKey });
    expect(verification.ok).toBe(false);
    expect(verification.problems.join(" ")).toContain(tenant.tenantId);
    await expect(
      restoreDatabase(backupPath, join(h.dir, "never.db"), { key: h.cp.auditKey }),
    ).rejects.toThrow(/failed verification/);
  });

  it("never overwrites: an existing backup file or a live target without replace is refused", async () => {
    const backupPath = join(h.dir, "once.db");
    await backupDatabase(h.cp.database.client, backupPath);
    await expect(backupDatabase(h.cp.database.client, backupPath)).rejects.toThrow(/exists/);
    await expect(restoreDatabase(backupPath, join(h.dir, "cp.db"), { key: h.cp.auditKey })).rejects.toThrow(
      /--replace/,
    );
  });
});
