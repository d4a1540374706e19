import { env } from "cloudflare:test";
import { describe, expect, it, vi } from "vitest";
import { kvKeys } from "#shared/kv.ts";
import { FAILED_LOAD_RETRY_MS, ModelCache } from "../../edge/src/models/cache.ts";
import { modelBytes, seedVersion } from "./harness.ts";

/** The edge's KV, counting reads of one version's model bytes. */
function countingKv(versionId: string): { kv: KVNamespace; reads: () => number } {
  let reads = 0;
  const kv = new Proxy(env.EDGE_KV, {
    get(target, prop, receiver) {
      if (prop !== "get") return Reflect.get(target, prop, receiver);
      return (key: string, type: never) => {
        if (key === kvKeys.modelBytes(versionId)) reads++;
        return target.get(key, type);
      };
    },
  });
  return { kv, reads: () => reads };
}

describe("model cache", () => {
  it("shares one load between concurrent cold requests for a version", async () => {
    const ref = await seedVersion();
    const { kv, reads } = countingKv(ref.versionId);
    const cache = new ModelCache();
    const models = await Promise.all([cache.get(kv, ref), cache.get(kv, ref), cache.get(kv, ref)]);
    expect(new Set(models).size).toBe(1);
    expect(reads()).toBe(1);
  });

  it("remembers a corrupt version for a while instead of re-reading and re-hashing it on every request", async () => {
    const corrupt = modelBytes().slice();
    corrupt[corrupt.length - 1]! ^= 0xff;
    const ref = await seedVersion(corrupt);
    const { kv, reads } = countingKv(ref.versionId);
    const cache = new ModelCache();
    await expect(cache.get(kv, ref)).rejects.toThrow();
    for (let i = 0; i < 5; i++) await expect(cache.get(kv, ref)).rejects.toThrow();
    expect(reads()).toBe(1);
  });

  it("tries a version that was missing again once the retry window has passed", async () => {
    const ref = await seedVersion();
    const bytes = await env.EDGE_KV.get(kvKeys.modelBytes(ref.versionId), "arrayBuffer");
    await env.EDGE_KV.delete(kvKeys.modelBytes(ref.versionId));
    const { kv, reads } = countingKv(ref.versionId);
    const cache = new ModelCache();
    vi.useFakeTimers({ toFake: ["Date"] });
    try {
      await expect(cache.get(kv, ref)).rejects.toMatchObject({ code: "MODEL_UNAVAILABLE" });
      // KV catches up (propagation): within the window the failure still answers...
      await env.EDGE_KV.put(kvKeys.modelBytes(ref.versionId), bytes!);
      await expect(cache.get(kv, ref)).rejects.toMatchObject({ code: "MODEL_UNAVAILABLE" });
      expect(reads()).toBe(1);
      // ...and after it the version loads.
      vi.setSystemTime(Date.now() + FAILED_LOAD_RETRY_MS + 1);
      const model = await cache.get(kv, ref);
      expect(model.bytes).toBeGreaterThan(0);
      expect(reads()).toBe(2);
    } finally {
      vi.useRealTimers();
    }
  });
});
