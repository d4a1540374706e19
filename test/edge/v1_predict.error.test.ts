import { describe, expect, it } from "vitest";
import { customer, errorOf, fixtureManifest, newTenant } from "./harness.ts";

const numericFeature = () => fixtureManifest().features.find((f) => f.type === "numeric")!.name;
const categoricalFeature = () => fixtureManifest().features.find((f) => f.type === "categorical")!.name;

describe("POST /v1/predict (bad input)", () => {
  it("names each offending field", async () => {
    const tenant = await newTenant();
    const num = numericFeature();
    const cat = categoricalFeature();
    const res = await tenant.predict({
      records: [customer(), customer({ [num]: "twelve", [cat]: true, favouriteColour: "blue" })],
    });
    expect(res.status).toBe(400);
    const error = await errorOf(res);
    expect(error.code).toBe("INVALID_REQUEST");
    const paths = error.issues!.map((i) => i.path);
    expect(paths).toContain(`records.1.${num}`);
    expect(paths).toContain(`records.1.${cat}`);
    expect(paths).toContain("records.1.favouriteColour");
    expect(error.message).toContain(`records.1.${num}`);
  });

  it("refuses __proto__-style keys, infinite numbers and oversized strings", async () => {
    const tenant = await newTenant();
    const num = numericFeature();
    const cat = categoricalFeature();
    const base = JSON.stringify(customer()).slice(1, -1);
    const raw = `{"records":[{${base},"__proto__":{"polluted":1}},{${base},"${num}":1e999},{${base},"${cat}":"${"x".repeat(300)}"}]}`;
    const res = await tenant.predict(raw);
    expect(res.status).toBe(400);
    const issues = (await errorOf(res)).issues!;
    expect(issues).toContainEqual({ path: "records.0.__proto__", message: "forbidden key" });
    expect(issues).toContainEqual({ path: `records.1.${num}`, message: "must be a finite number" });
    expect(issues.some((i) => i.path === `records.2.${cat}`)).toBe(true);
  });

  it("refuses a missing required field", async () => {
    const tenant = await newTenant();
    const required = fixtureManifest().features.find((f) => f.required)!;
    const record = customer();
    delete record[required.name];
    const res = await tenant.predict({ records: [record] });
    expect(res.status).toBe(400);
    expect((await errorOf(res)).issues![0]!.path).toBe(`records.0.${required.name}`);
  });

  it.each([
    ["no records", { records: [] }],
    ["too many records", { records: Array.from({ length: 1001 }, () => ({})) }],
    ["records not an array", { records: "all of them" }],
    ["body not an object", [1, 2, 3]],
    ["explain not a boolean", { records: [{}], explain: "yes" }],
  ])("400 for %s", async (_label, body) => {
    const tenant = await newTenant();
    const res = await tenant.predict(body);
    expect(res.status).toBe(400);
    expect((await errorOf(res)).code).toBe("INVALID_REQUEST");
  });

  it("400 for malformed JSON", async () => {
    const tenant = await newTenant();
    const res = await tenant.predict('{"records": [');
    expect(res.status).toBe(400);
  });

  it("415 for a non-JSON content type", async () => {
    const tenant = await newTenant();
    const res = await tenant.predict("records=1", { contentType: "application/x-www-form-urlencoded" });
    expect(res.status).toBe(415);
    expect((await errorOf(res)).code).toBe("UNSUPPORTED_MEDIA_TYPE");
  });

  it("413 for a body over the limit", async () => {
    const tenant = await newTenant();
    const res = await tenant.predict(`{"records":[{"x":"${"a".repeat(3 * 1024 * 1024)}"}]}`);
    expect(res.status).toBe(413);
    expect((await errorOf(res)).code).toBe("PAYLOAD_TOO_LARGE");
  });

  it("404 envelope for an unknown route", async () => {
    const { SELF } = await import("cloudflare:test");
    const res = await SELF.fetch("https://edge.test/v1/nope");
    expect(res.status).toBe(404);
    expect((await errorOf(res)).code).toBe("NOT_FOUND");
  });
});
