import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { migrate } from "drizzle-orm/libsql/migrator";
import { getTableConfig, SQLiteTable } from "drizzle-orm/sqlite-core";
import { decodeProtectedHeader } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { edgeDeploymentSchema, kvKeys } from "#shared/kv.ts";
import { type ControlPlane, createControlPlane } from "../../control-plane/src/control-plane.ts";
import { type Database, migrateDatabase, openDatabase } from "../../control-plane/src/platform/db/client.ts";
import * as schema from "../../control-plane/src/platform/db/schema/index.ts";
import { type ControlPlaneHarness, startControlPlane } from "../helpers/control-plane-harness.ts";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "churn-cp-migrate-"));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const journal = JSON.parse(
  await readFile(new URL("../../migrations/meta/_journal.json", import.meta.url), "utf8"),
) as { entries: { tag: string }[] };

const schemaTables = (Object.values(schema) as unknown[])
  .filter((v): v is SQLiteTable => v instanceof SQLiteTable)
  .map((t) => getTableConfig(t));

async function open(name: string): Promise<Database> {
  return openDatabase(`file:${join(dir, name)}`);
}

async function objects(database: Database) {
  const res = await database.client.execute(
    "SELECT type, name, tbl_name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY type, name",
  );
  return res.rows.map((r) => ({ ...r }));
}

async function appliedMigrations(database: Database): Promise<number> {
  const res = await database.client.execute("SELECT count(*) AS n FROM __drizzle_migrations");
  return Number(res.rows[0]!["n"]);
}

describe("migrations", () => {
  it("migrate a fresh database to every table, column, index and trigger the schema declares", async () => {
    const database = await open("fresh.db");
    try {
      await migrateDatabase(database);
      expect(await appliedMigrations(database)).toBe(journal.entries.length);

      const all = await objects(database);
      const tables = all.filter((o) => o.type === "table").map((o) => o.name);
      expect(schemaTables.length).toBeGreaterThanOrEqual(10);
      for (const table of schemaTables) {
        expect(tables, table.name).toContain(table.name);
        const info = await database.client.execute(`PRAGMA table_info(${table.name})`);
        expect(info.rows.map((r) => r["name"]).sort(), `columns of ${table.name}`).toEqual(
          table.columns.map((c) => c.name).sort(),
        );
        const indexes = all.filter((o) => o.type === "index" && o.tbl_name === table.name).map((o) => o.name);
        for (const index of table.indexes)
          expect(indexes, `indexes of ${table.name}`).toContain(index.config.name);
      }
      const triggers = all.filter((o) => o.type === "trigger").map((o) => o.name);
      expect(triggers).toEqual(expect.arrayContaining(["audit_log_no_update", "audit_log_no_delete"]));

      const fk = await database.client.execute("PRAGMA foreign_keys");
      expect(Number(fk.rows[0]![0])).toBe(1);
    } finally {
      database.close();
    }
  });

  it("migrating again is a no-op: same schema, same migration records, data kept", async () => {
    const database = await open("twice.db");
    try {
      await migrateDatabase(database);
      await database.client.execute({
        sql: "INSERT INTO tenants (id, name, created_at) VALUES (?, ?, ?)",
        args: ["tnt_keepme", "Kept", 1],
      });
      const schemaBefore = await objects(database);
      await migrateDatabase(database);
      await migrateDatabase(database);
      expect(await objects(database)).toEqual(schemaBefore);
      expect(await appliedMigrations(database)).toBe(journal.entries.length);
      const kept = await database.client.execute("SELECT name FROM tenants WHERE id = 'tnt_keepme'");
      expect(kept.rows.map((r) => r["name"])).toEqual(["Kept"]);
    } finally {
      database.close();
    }
  });

  it("migrates the same file from a second connection (a restarted process) without changes", async () => {
    const first = await open("reopen.db");
    await migrateDatabase(first);
    const before = await objects(first);
    first.close();
    const second = await open("reopen.db");
    try {
      await migrateDatabase(second);
      expect(await objects(second)).toEqual(before);
      expect(await appliedMigrations(second)).toBe(journal.entries.length);
    } finally {
      second.close();
    }
  });

  it("lets processes starting together on a fresh database all migrate it, once", async () => {
    const [a, b, c] = await Promise.all([open("race.db"), open("race.db"), open("race.db")]);
    try {
      const results = await Promise.allSettled([migrateDatabase(a), migrateDatabase(b), migrateDatabase(c)]);
      expect(results.map((r) => r.status)).toEqual(["fulfilled", "fulfilled", "fulfilled"]);
      expect(await appliedMigrations(a)).toBe(journal.entries.length);
    } finally {
      for (const d of [a, b, c]) d.close();
    }
  });
});

describe("migrating data", () => {
  it("moves existing versions' bytes to model_version_artifacts and drops them from model_versions", async () => {
    // A database as the release before the artifacts table left it: migrations up to 0005 only.
    const folder = join(dir, "migrations-0005");
    await mkdir(join(folder, "meta"), { recursive: true });
    const before = journal.entries.filter((e) => e.tag < "0006");
    await writeFile(join(folder, "meta/_journal.json"), JSON.stringify({ ...journal, entries: before }));
    for (const { tag } of before)
      await copyFile(new URL(`../../migrations/${tag}.sql`, import.meta.url), join(folder, `${tag}.sql`));
    const database = await open("artifacts.db");
    try {
      await migrate(database.db, { migrationsFolder: folder });
      const run = (sql: string, args: (string | number | Uint8Array)[] = []) =>
        database.client.execute({ sql, args });
      await run("INSERT INTO tenants (id, name, created_at) VALUES ('tnt_a', 'A', 1)");
      await run("INSERT INTO models (id, tenant_id, name, created_at) VALUES ('mdl_a', 'tnt_a', 'churn', 1)");
      const onnx = new Uint8Array([8, 1, 18, 3, 1, 2, 3]);
      const explainer = new TextEncoder().encode('{"format":"x"}');
      await run(
        `INSERT INTO model_versions (id, tenant_id, model_id, version, sha256, bytes, manifest, onnx, explainer, published_by, created_at)
         VALUES ('mv_a', 'tnt_a', 'mdl_a', 1, 'abc', 7, '{}', ?, ?, 'user:u', 1)`,
        [onnx, explainer],
      );

      await migrateDatabase(database);
      const moved = await run("SELECT model_version_id, onnx, explainer FROM model_version_artifacts");
      expect(moved.rows).toHaveLength(1);
      expect(moved.rows[0]!["model_version_id"]).toBe("mv_a");
      expect(new Uint8Array(moved.rows[0]!["onnx"] as ArrayBuffer)).toEqual(onnx);
      expect(new Uint8Array(moved.rows[0]!["explainer"] as ArrayBuffer)).toEqual(explainer);
      const columns = (await run("PRAGMA table_info(model_versions)")).rows.map((r) => r["name"]);
      expect(columns).not.toContain("onnx");
      expect(columns).not.toContain("explainer");
      expect((await run("SELECT version FROM model_versions WHERE id = 'mv_a'")).rows[0]!["version"]).toBe(1);
    } finally {
      database.close();
    }
  });
});

describe("control plane restart on an existing database", () => {
  let h: ControlPlaneHarness | undefined;
  let restarted: ControlPlane | undefined;
  afterAll(async () => {
    restarted?.close();
    await h?.close();
  });

  it("keeps its signing key and accepted tokens, and re-publishes deployments to a wiped edge", async () => {
    h = await startControlPlane({ DATABASE_URL: `file:${join(dir, "restart.db")}` });
    const t = await h.newTenant();
    const fixture = await h.fixture(7);
    const v = await t.publish(fixture);
    await t.deploy(v.id);
    const token = await t.clientToken(["models:read"]);
    const kid = h.deps.keys.active().kid;
    const settings = await h.request("/v1/settings/monitoring", {
      method: "PUT",
      token: t.ownerToken,
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ rawRecords: { enabled: true, retentionDays: 7 } }),
    });
    expect(settings.status).toBe(200);
    const limits = await h.request("/v1/settings/limits", {
      method: "PUT",
      token: t.ownerToken,
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ ratePerSecond: 42, burst: 84 }),
    });
    expect(limits.status).toBe(200);
    h.cp.close();

    // The edge lost everything while the control plane was down.
    for (const { name } of (await h.kv.list()).keys) await h.kv.delete(name);
    expect((await h.kv.list()).keys).toEqual([]);

    restarted = await createControlPlane(h.config, h.edge, { info: () => {}, error: () => {} });
    expect(restarted.deps.keys.active().kid).toBe(kid);
    expect(decodeProtectedHeader(token).kid).toBe(kid);
    const res = await restarted.app.request("/v1/deployment", {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("etag")).toBe('"1"');

    const jwks = JSON.parse((await h.kv.get(kvKeys.jwks(), "text"))!) as { keys: { kid: string }[] };
    expect(jwks.keys.map((k) => k.kid)).toContain(kid);
    const pointer = edgeDeploymentSchema.parse(
      JSON.parse((await h.kv.get(kvKeys.deployment(t.tenantId), "text"))!),
    );
    expect(pointer).toMatchObject({ tenantId: t.tenantId, revision: 1, production: { versionId: v.id } });
    const bytes = await h.kv.get(kvKeys.modelBytes(v.id), "arrayBuffer");
    expect(new Uint8Array(bytes!)).toEqual(fixture.bytes);
    expect(await h.kv.get(kvKeys.modelManifest(v.id), "text")).not.toBeNull();
    // The tenant's edge settings come back too, so raw-record capture survives the wipe.
    expect(JSON.parse((await h.kv.get(kvKeys.limits(t.tenantId), "text"))!)).toMatchObject({
      tenant: { ratePerSecond: 42, burst: 84 },
    });
    expect(JSON.parse((await h.kv.get(kvKeys.edgeSettings(t.tenantId), "text"))!)).toEqual({
      captureRecords: true,
    });
  });
});
