import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { liveToken } from "../../control-plane/src/modules/identity/tokens.ts";
import { type Database, openDatabase } from "../../control-plane/src/platform/db/client.ts";

const root = resolve(import.meta.dirname, "../..");
const run = promisify(execFile);

describe("npm run db -- tenant create", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "churn-db-tenant-"));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it("creates a new deployment's first tenant on a fresh database and prints a working owner token", async () => {
    const url = `file:${join(dir, "cp.db")}`;
    const { stdout } = await run(
      process.execPath,
      [
        join(root, "scripts/db.ts"),
        "tenant",
        "create",
        "--name",
        "Acme",
        "--owner-email",
        "ops@acme.example",
      ],
      { cwd: root, env: { ...process.env, DATABASE_URL: url } },
    );
    const created = JSON.parse(stdout) as { tenantId: string; ownerId: string; ownerToken: string };
    expect(created.ownerToken).toMatch(/^churn_pat_/);
    let database: Database | undefined;
    try {
      database = await openDatabase(url);
      const row = await liveToken(database.db, created.ownerToken);
      expect(row?.user).toMatchObject({ id: created.ownerId, tenantId: created.tenantId, role: "owner" });
      expect(row?.tenantName).toBe("Acme");
    } finally {
      database?.close();
    }
  });

  it("names what is missing", async () => {
    const failed = await run(
      process.execPath,
      [join(root, "scripts/db.ts"), "tenant", "create", "--name", "Acme"],
      {
        cwd: root,
        env: { ...process.env, DATABASE_URL: `file:${join(dir, "other.db")}` },
      },
    ).catch((err: { code: number; stderr: string }) => err);
    expect(failed).toMatchObject({ code: 1 });
    expect((failed as { stderr: string }).stderr).toContain("--owner-email");
  });
});
