import { mkdir, mkdtemp, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { backupDatabase } from "../../control-plane/src/platform/db/backup.ts";
import { migrateDatabase, openDatabase } from "../../control-plane/src/platform/db/client.ts";

/** The database holds signing keys and webhook secrets: nobody but its owner may read it or its copies. */
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "churn-perms-"));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const modeOf = async (path: string) => (await stat(path)).mode & 0o777;

describe("files the control plane creates", () => {
  it("creates the data directory, the database and its WAL owner-only, whatever the umask", async () => {
    const previous = process.umask(0o022);
    try {
      const path = join(dir, "fresh", ".data", "control-plane.db");
      const database = await openDatabase(`file:${path}`);
      await migrateDatabase(database);
      expect(await modeOf(join(dir, "fresh", ".data"))).toBe(0o700);
      expect(await modeOf(path)).toBe(0o600);
      expect(await modeOf(`${path}-wal`)).toBe(0o600);

      // Backups (and the directory the db command makes for them) are owner-only too.
      const backups = join(dir, "fresh", ".data", "backups");
      await mkdir(backups, { recursive: true, mode: 0o700 });
      const backup = join(backups, "copy.db");
      await backupDatabase(database.client, backup);
      expect(await modeOf(backup)).toBe(0o600);
      database.close();
    } finally {
      process.umask(previous);
    }
  });

  it("tightens a database file left world-readable by an earlier release", async () => {
    const path = join(dir, "old", "control-plane.db");
    await mkdir(join(dir, "old"), { recursive: true });
    await writeFile(path, "", { mode: 0o644 });
    expect(await modeOf(path)).toBe(0o644);
    const database = await openDatabase(`file:${path}`);
    await migrateDatabase(database);
    expect(await modeOf(path)).toBe(0o600);
    database.close();
  });
});
