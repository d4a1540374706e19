import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cloudflareKvStore } from "../../control-plane/src/platform/edge-store/cloudflare-kv.ts";

/**
 * Cloudflare's KV REST API cannot run here, so a small HTTP server speaks its value routes: it stores bodies
 * by path, checks the bearer token, and fails on demand for keys starting with "broken".
 */
function kvRestServer(token: string) {
  const values = new Map<string, Buffer>();
  const seen: { method: string; path: string; contentType?: string }[] = [];
  const server = createServer((req, res) => {
    const path = req.url ?? "";
    seen.push({
      method: req.method ?? "",
      path,
      ...(req.headers["content-type"] ? { contentType: req.headers["content-type"] } : {}),
    });
    if (req.headers.authorization !== `Bearer ${token}`) return res.writeHead(403).end();
    if (decodeURIComponent(path).includes("/values/broken")) return res.writeHead(500).end();
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      if (req.method === "PUT") {
        values.set(path, Buffer.concat(chunks));
        return res.writeHead(200).end('{"success":true}');
      }
      const value = values.get(path);
      if (!value) return res.writeHead(404).end();
      res.writeHead(200).end(value);
    });
  });
  return { server, seen };
}

describe("publishing to Cloudflare KV through its REST API", () => {
  const token = "cf-api-token";
  const { server, seen } = kvRestServer(token);
  let apiBase: string;

  beforeAll(async () => {
    await new Promise<void>((done) => (server as Server).listen(0, "127.0.0.1", done));
    apiBase = `http://127.0.0.1:${(server.address() as AddressInfo).port}/client/v4`;
  });

  afterAll(async () => {
    await new Promise((done) => server.close(done));
  });

  const store = (apiToken = token) =>
    cloudflareKvStore({ accountId: "acc1", namespaceId: "ns1", apiToken, apiBase });

  it("puts a value under the account's namespace and reads the same text back", async () => {
    const kv = store();
    expect(kv.kind).toBe("cloudflare-kv");
    await kv.put("deployment/tnt_1", JSON.stringify({ versionId: "mv_1" }));
    expect(await kv.get("deployment/tnt_1")).toBe('{"versionId":"mv_1"}');
    const put = seen.find((r) => r.method === "PUT");
    // The key is one path segment: its slash is encoded, so it cannot address another route.
    expect(put?.path).toBe("/client/v4/accounts/acc1/storage/kv/namespaces/ns1/values/deployment%2Ftnt_1");
    expect(put?.contentType).toBe("application/octet-stream");
  });

  it("stores bytes unchanged", async () => {
    const kv = store();
    await kv.put("model/mv_2", Uint8Array.of(0, 1, 2, 250));
    const res = await fetch(`${apiBase}/accounts/acc1/storage/kv/namespaces/ns1/values/model%2Fmv_2`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(new Uint8Array(await res.arrayBuffer())).toEqual(Uint8Array.of(0, 1, 2, 250));
  });

  it("answers null for a key that was never written", async () => {
    expect(await store().get("never-written")).toBeNull();
  });

  it("fails loudly, naming the key and status, when the API refuses or errors", async () => {
    await expect(store("wrong-token").put("jwks", "{}")).rejects.toThrow(
      "Cloudflare KV put jwks failed with HTTP 403",
    );
    await expect(store().get("broken-key")).rejects.toThrow(
      "Cloudflare KV get broken-key failed with HTTP 500",
    );
  });
});
