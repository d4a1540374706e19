import { SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";

describe("edge smoke", () => {
  it("health", async () => {
    const res = await SELF.fetch("http://edge.test/v1/health");
    expect(res.status).toBe(200);
  });
});
