/**
 * Where the control plane publishes what the edge reads: JWKS, model bytes, manifests and deployment
 * pointers. Locally that is workerd's KV through Miniflare; in production, Cloudflare's KV API.
 */
export interface EdgeStore {
  readonly kind: string;
  put(key: string, value: string | Uint8Array): Promise<void>;
  get(key: string): Promise<string | null>;
}

/** The subset of a Workers KV binding the local adapter needs (Miniflare hands one to Node). */
export interface KvLike {
  put(key: string, value: string | ArrayBuffer): Promise<void>;
  get(key: string, type: "text"): Promise<string | null>;
}

export function kvEdgeStore(kv: KvLike): EdgeStore {
  return {
    kind: "workerd-kv",
    put: (key, value) =>
      kv.put(key, typeof value === "string" ? value : (value.slice().buffer as ArrayBuffer)),
    get: (key) => kv.get(key, "text"),
  };
}
