import { env } from "cloudflare:test";
import { describe, expect, it, vi } from "vitest";
import { KvSwrCache } from "../../edge/src/kv-cache.ts";

const parse = (text: string) => (text.startsWith("{") ? (JSON.parse(text) as { v: number }) : null);

describe("stale-while-revalidate KV cache", () => {
  it("picks up every successive change, one refresh window at a time", async () => {
    const key = `test:swr:${crypto.randomUUID()}`;
    const cache = new KvSwrCache({ freshMs: 1_000, parse });
    const background: Promise<unknown>[] = [];
    const waitUntil = (p: Promise<unknown>) => background.push(p);
    await env.EDGE_KV.put(key, JSON.stringify({ v: 1 }));
    expect(await cache.get(env.EDGE_KV, key, waitUntil)).toEqual({ v: 1 });
    vi.useFakeTimers({ toFake: ["Date"] });
    try {
      for (const v of [2, 3, 4]) {
        await env.EDGE_KV.put(key, JSON.stringify({ v }));
        expect(await cache.get(env.EDGE_KV, key, waitUntil)).toEqual({ v: v - 1 }); // still fresh
        vi.setSystemTime(Date.now() + 1_500);
        expect(await cache.get(env.EDGE_KV, key, waitUntil)).toEqual({ v: v - 1 }); // stale: served, refreshing
        await Promise.all(background.splice(0));
        expect(await cache.get(env.EDGE_KV, key, waitUntil)).toEqual({ v });
      }
    } finally {
      vi.useRealTimers();
    }
  });

  it("refreshes an entry read on a clock that then stepped back, instead of serving it until the clock catches up", async () => {
    const key = `test:swr:${crypto.randomUUID()}`;
    const cache = new KvSwrCache({ freshMs: 10_000, parse });
    const background: Promise<unknown>[] = [];
    const waitUntil = (p: Promise<unknown>) => background.push(p);
    await env.EDGE_KV.put(key, JSON.stringify({ v: 1 }));
    vi.useFakeTimers({ toFake: ["Date"] });
    try {
      vi.setSystemTime(Date.now() + 30 * 86_400_000);
      expect(await cache.get(env.EDGE_KV, key, waitUntil)).toEqual({ v: 1 });
    } finally {
      vi.useRealTimers();
    }
    await env.EDGE_KV.put(key, JSON.stringify({ v: 2 }));
    expect(await cache.get(env.EDGE_KV, key, waitUntil)).toEqual({ v: 1 }); // served, and re-read
    await Promise.all(background.splice(0));
    expect(await cache.get(env.EDGE_KV, key, waitUntil)).toEqual({ v: 2 });
  });

  it("keeps the last good value when KV holds something unparseable", async () => {
    const key = `test:swr:${crypto.randomUUID()}`;
    const cache = new KvSwrCache({ freshMs: 0, parse });
    const background: Promise<unknown>[] = [];
    await env.EDGE_KV.put(key, JSON.stringify({ v: 7 }));
    expect(await cache.get(env.EDGE_KV, key, (p) => background.push(p))).toEqual({ v: 7 });
    await env.EDGE_KV.put(key, "garbage");
    await new Promise((r) => setTimeout(r, 5));
    await cache.get(env.EDGE_KV, key, (p) => background.push(p));
    await Promise.all(background.splice(0));
    expect(await cache.get(env.EDGE_KV, key, (p) => background.push(p))).toEqual({ v: 7 });
  });

  it("remembers an absent key only when asked to", async () => {
    const key = `test:swr:${crypto.randomUUID()}`;
    const remembering = new KvSwrCache({ freshMs: 60_000, parse, cacheAbsent: true });
    const forgetting = new KvSwrCache({ freshMs: 60_000, parse });
    const noop = () => {};
    expect(await remembering.get(env.EDGE_KV, key, noop)).toBeNull();
    expect(await forgetting.get(env.EDGE_KV, key, noop)).toBeNull();
    await env.EDGE_KV.put(key, JSON.stringify({ v: 1 }));
    expect(await remembering.get(env.EDGE_KV, key, noop)).toBeNull();
    expect(await forgetting.get(env.EDGE_KV, key, noop)).toEqual({ v: 1 });
  });

  it("shares one KV read among concurrent first gets of a key, and reads again once it is gone", async () => {
    const key = `test:swr:${crypto.randomUUID()}`;
    const cache = new KvSwrCache({ freshMs: 60_000, parse });
    let reads = 0;
    const counted = countingReads(() => reads++);
    const noop = () => {};
    await env.EDGE_KV.put(key, JSON.stringify({ v: 1 }));
    const values = await Promise.all(Array.from({ length: 5 }, () => cache.get(counted, key, noop)));
    expect(values).toEqual(Array.from({ length: 5 }, () => ({ v: 1 })));
    expect(reads).toBe(1);
    // Without cacheAbsent an absent key is not held, so each new first get reads it again.
    const absent = `test:swr:${crypto.randomUUID()}`;
    await Promise.all([cache.get(counted, absent, noop), cache.get(counted, absent, noop)]);
    expect(reads).toBe(2);
    await env.EDGE_KV.put(absent, JSON.stringify({ v: 2 }));
    expect(await cache.get(counted, absent, noop)).toEqual({ v: 2 });
    expect(reads).toBe(3);
  });

  it("forces a read at once after a quiet spell, then at most once per interval, so forcing costs no KV read each", async () => {
    const key = `test:swr:${crypto.randomUUID()}`;
    const cache = new KvSwrCache({ freshMs: 60_000, parse, minForceIntervalMs: 1_000 });
    let reads = 0;
    const counted = countingReads(() => reads++);
    const noop = () => {};
    await env.EDGE_KV.put(key, JSON.stringify({ v: 1 }));
    expect(await cache.get(counted, key, noop)).toEqual({ v: 1 });
    await env.EDGE_KV.put(key, JSON.stringify({ v: 2 }));
    vi.useFakeTimers({ toFake: ["Date"] });
    try {
      // The first force reads now (a key published a moment ago is found at once)...
      expect(await cache.get(counted, key, noop, true)).toEqual({ v: 2 });
      expect(reads).toBe(2);
      // ...and the forces that follow within the interval read nothing.
      await env.EDGE_KV.put(key, JSON.stringify({ v: 3 }));
      for (let i = 0; i < 50; i++) expect(await cache.get(counted, key, noop, true)).toEqual({ v: 2 });
      expect(reads).toBe(2);
      vi.setSystemTime(Date.now() + 1_100);
      expect(await cache.get(counted, key, noop, true)).toEqual({ v: 3 });
      expect(reads).toBe(3);
    } finally {
      vi.useRealTimers();
    }
  });
});

/** The real namespace, counting the reads that reach it. */
function countingReads(onRead: () => void): KVNamespace {
  return new Proxy(env.EDGE_KV, {
    get(target, prop) {
      if (prop === "get")
        return (...args: Parameters<KVNamespace["get"]>) => {
          onRead();
          return target.get(...args);
        };
      const value = Reflect.get(target, prop) as unknown;
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}
