import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LocalEdgeOptions, startLocalEdge } from "../../scripts/lib/local-edge.ts";

/**
 * `npm start` keeps the local edge's state (KV, and the Durable Objects holding prediction quota counts)
 * under the data directory, so a restart loses neither published models nor a month's usage.
 */
describe("the local edge's data directory", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "churn-local-edge-"));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it("keeps what was written to KV across a restart", async () => {
    const options: LocalEdgeOptions = {
      port: 0,
      persistDir: join(dir, "edge"),
      issuer: "urn:test",
      audience: "urn:test",
      ingestSecret: "persistence-test-secret",
    };
    const first = await startLocalEdge(options);
    try {
      await first.kv.put("tenant:t_persist:probe", "kept");
    } finally {
      await first.close();
    }
    const second = await startLocalEdge(options);
    try {
      expect(await second.kv.get("tenant:t_persist:probe")).toBe("kept");
    } finally {
      await second.close();
    }
  });
});
