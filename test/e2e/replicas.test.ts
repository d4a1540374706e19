import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { convertV4MiniflareOptions, Miniflare } from "miniflare";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { prepareAuditKey } from "../../control-plane/src/modules/audit/audit.ts";
import { createTenant } from "../../control-plane/src/modules/identity/tenants.ts";
import { loadConfig } from "../../control-plane/src/platform/config.ts";
import { type Database, openDatabase } from "../../control-plane/src/platform/db/client.ts";
import { SCHEDULER_LEASE } from "../../control-plane/src/platform/scheduler/tick.ts";

/**
 * Three control-plane processes (the production entry, `control-plane/src/server.ts`) on one database and
 * one KV namespace, started together and reached through a round-robin proxy, as a load balancer would
 * spread requests over replicas. Separate processes matter: libSQL's calls are synchronous, so clients
 * of one file inside one process would wait on each other's locks with the event loop blocked.
 *
 * The KV namespace is workerd's, behind a worker that answers Cloudflare's KV REST value routes, so the
 * replicas publish through the same adapter they use in production.
 */
const OPERATOR_TOKEN = "o".repeat(40);
const KV_API_TOKEN = "replicas-kv-token";
const root = resolve(import.meta.dirname, "../..");

const KV_REST_WORKER = `
export default {
  async fetch(request, env) {
    const match = new URL(request.url).pathname.match(/^\\/client\\/v4\\/accounts\\/[^/]+\\/storage\\/kv\\/namespaces\\/[^/]+\\/values\\/([^/]+)$/);
    if (!match) return new Response("no such route", { status: 404 });
    if (request.headers.get("authorization") !== "Bearer ${KV_API_TOKEN}") return new Response("", { status: 403 });
    const key = decodeURIComponent(match[1]);
    if (request.method === "PUT") {
      await env.EDGE_KV.put(key, await request.arrayBuffer());
      return Response.json({ success: true });
    }
    const value = await env.EDGE_KV.get(key, "arrayBuffer");
    return value === null ? Response.json({ success: false }, { status: 404 }) : new Response(value);
  },
};`;

interface Replica {
  child: ChildProcess;
  url: string;
}

let dir: string;
let mf: Miniflare;
let db: Database;
let replicas: Replica[] = [];
let proxy: Server;
let proxyUrl: string;

/** Starts one replica and resolves with its URL once it listens (it prints one JSON line saying where). */
function startReplica(env: Record<string, string>): Promise<Replica> {
  const child = spawn(process.execPath, ["control-plane/src/server.ts"], {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "inherit"],
  });
  return new Promise((ok, fail) => {
    child.once("exit", (code) => fail(new Error(`a replica exited with ${code} before listening`)));
    createInterface({ input: child.stdout! }).on("line", (line) => {
      const url = line.startsWith("{") ? (JSON.parse(line) as { url?: string }).url : undefined;
      if (url) ok({ child, url });
    });
  });
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "churn-replicas-e2e-"));
  mf = new Miniflare(
    convertV4MiniflareOptions({
      modules: true,
      script: KV_REST_WORKER,
      kvNamespaces: ["EDGE_KV"],
      compatibilityDate: "2026-07-01",
    }),
  );
  const kvUrl = (await mf.ready).toString().replace(/\/$/, "");
  const env = {
    DATABASE_URL: `file:${join(dir, "control-plane.db")}`,
    LOG_LEVEL: "silent",
    OPERATOR_TOKEN,
    SCHEDULER_INTERVAL_SECONDS: "1",
    CONTROL_PLANE_HOST: "127.0.0.1",
    CONTROL_PLANE_PORT: "0",
    CLOUDFLARE_ACCOUNT_ID: "replicas",
    CLOUDFLARE_API_TOKEN: KV_API_TOKEN,
    CLOUDFLARE_KV_NAMESPACE_ID: "edge",
    CLOUDFLARE_API_BASE: `${kvUrl}/client/v4`,
  };
  // Started together: they race to migrate the fresh database and to run the start-up sync.
  replicas = await Promise.all([1, 2, 3].map(() => startReplica(env)));
  db = await openDatabase(env.DATABASE_URL);
  // The test writes tenants itself: with the replicas' audit key (the file they generated beside the database).
  await prepareAuditKey(loadConfig(env), db.db);
  let next = 0;
  proxy = createServer(async (req, res) => {
    const upstream = replicas[next++ % replicas.length]!;
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
  await new Promise<void>((ok) => (proxy ? proxy.close(() => ok()) : ok()));
  await Promise.all(
    replicas.map(
      ({ child }) =>
        new Promise<void>((ok) => {
          if (child.exitCode !== null) return ok();
          child.once("exit", () => ok());
          child.kill("SIGTERM");
        }),
    ),
  );
  db?.client.close();
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
    const tenant = await createTenant(db.db, {
      name: "replicas",
      ownerEmail: "owner@replicas.example",
      ownerName: "Owner",
    });
    expect(await statusesOnEveryReplica(await clientToken(tenant.ownerToken))).toEqual([404, 404, 404]);

    const rotated = await fetch(`${replicas[0]!.url}/v1/admin/keys/rotate`, {
      method: "POST",
      headers: { authorization: `Bearer ${OPERATOR_TOKEN}` },
    });
    expect(rotated.status).toBe(200);
    // Signed by the replica that rotated, with the new key, then read on all three.
    const fresh = await clientToken(tenant.ownerToken, replicas[0]!.url);
    expect(await statusesOnEveryReplica(fresh)).toEqual([404, 404, 404]);
  });

  it("count failed client secrets in the database, so guesses spread over replicas still lock the source out", async () => {
    const tenant = await createTenant(db.db, {
      name: "replicas-throttle",
      ownerEmail: "owner@throttle.example",
      ownerName: "Owner",
    });
    await clientToken(tenant.ownerToken);
    const guess = (secret: string) =>
      fetch(`${proxyUrl}/v1/oauth/token`, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({
          grant_type: "client_credentials",
          client_id: "cli_guessed",
          client_secret: secret,
        }),
      }).then((r) => r.status);
    // Ten wrong secrets, three or four on each replica: each process alone would allow ten.
    for (let i = 0; i < 10; i++) expect(await guess(`wrong-${i}`)).toBe(401);
    expect([await guess("wrong"), await guess("wrong"), await guess("wrong")]).toEqual([429, 429, 429]);
  });

  it("run the scheduler in one replica at a time", async () => {
    const leaseHolder = async () =>
      (
        await db.client.execute({ sql: "select holder from leases where name = ?", args: [SCHEDULER_LEASE] })
      ).rows.map((row) => String(row["holder"]));
    // The first one-second interval takes the lease, whenever the runtime gets to it.
    await vi.waitFor(async () => expect(await leaseHolder()).toHaveLength(1), {
      timeout: 15_000,
      interval: 100,
    });
    // Several intervals later it is still one replica's, renewed by it rather than taken by another.
    const first = (await leaseHolder())[0];
    await new Promise((r) => setTimeout(r, 2_500));
    expect(await leaseHolder()).toEqual([first]);
    // The holder names its process (host:pid:random): one of the three replicas.
    const pid = Number(first!.split(":")[1]);
    expect(replicas.map((r) => r.child.pid)).toContain(pid);
  });
});
