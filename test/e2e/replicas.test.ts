import { mkdtemp, rm } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { convertV4MiniflareOptions, Miniflare } from "miniflare";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import {
  type ControlPlane,
  createControlPlane,
  listen,
  type RunningServer,
} from "../../control-plane/src/control-plane.ts";
import { createTenant } from "../../control-plane/src/modules/identity/tenants.ts";
import { loadConfig } from "../../control-plane/src/platform/config.ts";
import { type KvLike, kvEdgeStore } from "../../control-plane/src/platform/edge-store/edge-store.ts";
import { SCHEDULER_LEASE } from "../../control-plane/src/platform/scheduler/tick.ts";

/**
 * Three control-plane processes on one database and one KV namespace, started together and reached
 * through a round-robin proxy, as a load balancer would spread requests over replicas.
 */
const OPERATOR_TOKEN = "o".repeat(40);

let dir: string;
let mf: Miniflare;
let replicas: ControlPlane[] = [];
let servers: RunningServer[] = [];
let proxy: Server;
let proxyUrl: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "churn-replicas-e2e-"));
  mf = new Miniflare(
    convertV4MiniflareOptions({
      modules: true,
      script: "export default { fetch() { return new Response('') } }",
      kvNamespaces: ["EDGE_KV"],
      compatibilityDate: "2026-07-01",
      cf: false,
    }),
  );
  const edge = kvEdgeStore((await mf.getKVNamespace("EDGE_KV")) as unknown as KvLike);
  const config = loadConfig({
    DATABASE_URL: `file:${join(dir, "control-plane.db")}`,
    LOG_LEVEL: "silent",
    OPERATOR_TOKEN,
    SCHEDULER_INTERVAL_SECONDS: "1",
  });
  const quiet = { info: () => {}, error: () => {} };
  // Started together: they race to migrate the fresh database and to run the start-up sync.
  replicas = await Promise.all([1, 2, 3].map(() => createControlPlane(config, edge, quiet)));
  servers = await Promise.all(replicas.map((r) => listen(r.app, "127.0.0.1", 0)));
  let next = 0;
  proxy = createServer(async (req, res) => {
    const upstream = servers[next++ % servers.length]!;
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const answer = await fetch(`${upstream.url}${req.url}`, {
      method: req.method,
      headers: req.headers as Record<string, string>,
      ...(chunks.length > 0 ? { body: Buffer.concat(chunks) } : {}),
    });
    res.writeHead(answer.status, { "content-type": answer.headers.get("content-type") ?? "text/plain" });
    res.end(Buffer.from(await answer.arrayBuffer()));
  });
  await new Promise<void>((ok) => proxy.listen(0, "127.0.0.1", ok));
  proxyUrl = `http://127.0.0.1:${(proxy.address() as { port: number }).port}`;
}, 120_000);

afterAll(async () => {
  await new Promise<void>((ok) => proxy?.close(() => ok()));
  for (const s of servers) await s.close();
  for (const r of replicas) r.close();
  await mf?.dispose();
  await rm(dir, { recursive: true, force: true });
});

async function clientToken(ownerToken: string, base = proxyUrl): Promise<string> {
  const created = await fetch(`${base}/v1/clients`, {
    method: "POST",
    headers: { authorization: `Bearer ${ownerToken}`, "content-type": "application/json" },
    body: JSON.stringify({ name: `replica-client-${Math.random()}`, scopes: ["models:read"] }),
  });
  expect(created.status).toBe(201);
  const { client, clientSecret } = (await created.json()) as { client: { id: string }; clientSecret: string };
  const token = await fetch(`${base}/v1/oauth/token`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({
      grant_type: "client_credentials",
      client_id: client.id,
      client_secret: clientSecret,
    }).toString(),
  });
  expect(token.status).toBe(200);
  return ((await token.json()) as { access_token: string }).access_token;
}

/** The same read three times through the proxy: once on each replica. */
async function statusesOnEveryReplica(token: string): Promise<number[]> {
  const statuses: number[] = [];
  for (let i = 0; i < 3; i++) {
    const res = await fetch(`${proxyUrl}/v1/models/none/versions`, {
      headers: { authorization: `Bearer ${token}` },
    });
    statuses.push(res.status);
  }
  return statuses;
}

describe("three control-plane replicas on one database behind a round-robin", () => {
  it("start together on a fresh database and serve every request", async () => {
    const ready = await Promise.all([1, 2, 3].map(() => fetch(`${proxyUrl}/v1/ready`).then((r) => r.status)));
    expect(ready).toEqual([200, 200, 200]);
  });

  it("verify everywhere a token issued anywhere, across a key rotation on one replica", async () => {
    const tenant = await createTenant(replicas[0]!.deps.db, {
      name: "replicas",
      ownerEmail: "owner@replicas.example",
      ownerName: "Owner",
    });
    expect(await statusesOnEveryReplica(await clientToken(tenant.ownerToken))).toEqual([404, 404, 404]);

    const rotated = await fetch(`${servers[0]!.url}/v1/admin/keys/rotate`, {
      method: "POST",
      headers: { authorization: `Bearer ${OPERATOR_TOKEN}` },
    });
    expect(rotated.status).toBe(200);
    // Signed by the replica that rotated, with the new key, then read on all three.
    const fresh = await clientToken(tenant.ownerToken, servers[0]!.url);
    expect(await statusesOnEveryReplica(fresh)).toEqual([404, 404, 404]);
  });

  it("run the scheduler in one replica at a time", async () => {
    const holders = replicas.map((r) => r.scheduler!.lease.holder);
    const leaseHolder = async () =>
      (
        await replicas[0]!.database.client.execute({
          sql: "select holder from leases where name = ?",
          args: [SCHEDULER_LEASE],
        })
      ).rows.map((row) => row["holder"]);
    // The first one-second interval takes the lease, whenever the runtime gets to it.
    await vi.waitFor(async () => expect(await leaseHolder()).toHaveLength(1), {
      timeout: 15_000,
      interval: 100,
    });
    // Several intervals later it is still one replica's, renewed by it rather than taken by another.
    const first = (await leaseHolder())[0];
    await new Promise((r) => setTimeout(r, 2_500));
    expect(await leaseHolder()).toEqual([first]);
    expect(holders.filter((h) => h === first)).toHaveLength(1);
  });
});
