import type { EdgeStore } from "./edge-store.ts";

export interface CloudflareKvOptions {
  accountId: string;
  namespaceId: string;
  apiToken: string;
  fetch?: typeof fetch;
  apiBase?: string;
}

/** Cloudflare's KV REST API: the production adapter. Values become visible at every location within ~60 s. */
export function cloudflareKvStore(options: CloudflareKvOptions): EdgeStore {
  const doFetch = options.fetch ?? fetch;
  const base = `${options.apiBase ?? "https://api.cloudflare.com/client/v4"}/accounts/${options.accountId}/storage/kv/namespaces/${options.namespaceId}`;
  const headers = { authorization: `Bearer ${options.apiToken}` };
  const url = (key: string) => `${base}/values/${encodeURIComponent(key)}`;
  return {
    kind: "cloudflare-kv",
    async put(key, value) {
      const res = await doFetch(url(key), {
        method: "PUT",
        headers: { ...headers, "content-type": "application/octet-stream" },
        body: value as RequestInit["body"],
      });
      if (!res.ok) throw new Error(`Cloudflare KV put ${key} failed with HTTP ${res.status}`);
    },
    async get(key) {
      const res = await doFetch(url(key), { headers });
      if (res.status === 404) return null;
      if (!res.ok) throw new Error(`Cloudflare KV get ${key} failed with HTTP ${res.status}`);
      return res.text();
    },
  };
}
