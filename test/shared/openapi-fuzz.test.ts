import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { type ControlPlaneHarness, startControlPlane } from "../helpers/control-plane-harness.ts";
import {
  bodyText,
  listOperations,
  mutatedValueArbitrary,
  type OpenApiDocument,
  type OperationObject,
  requestArbitrary,
  responseViolations,
  type SchemaObject,
  sentText,
  toRequestInit,
  valueArbitrary,
} from "../helpers/openapi-fuzz.ts";

/** A document whose components are the zod schemas given, converted as zod-openapi converts them. */
function docOf(schemas: Record<string, z.ZodType>): OpenApiDocument {
  return {
    openapi: "3.1.0",
    paths: {},
    components: {
      schemas: Object.fromEntries(
        Object.entries(schemas).map(([name, schema]) => [
          name,
          z.toJSONSchema(schema, {
            target: "draft-2020-12",
            io: "input",
            unrepresentable: "any",
          }) as SchemaObject,
        ]),
      ),
    },
  };
}

const ref = (name: string): SchemaObject => ({ $ref: `#/components/schemas/${name}` });

describe("openapi-fuzz: values drawn from a schema parse with the zod schema it came from", () => {
  const cases: Record<string, z.ZodType> = {
    scalars: z.object({
      s: z.string().min(3).max(8),
      n: z.number().gt(0).lte(10),
      i: z.int().min(-5).max(5),
      b: z.boolean(),
      nil: z.null(),
      e: z.enum(["a", "b"]),
      c: z.literal("fixed"),
    }),
    formats: z.object({
      at: z.iso.datetime(),
      id: z.uuid(),
      url: z.url(),
      email: z.email(),
      slug: z.string().regex(/^[a-z0-9][a-z0-9-]{0,63}$/),
    }),
    shapes: z.object({
      optional: z.string().optional(),
      nullable: z.string().nullable(),
      list: z.array(z.int()).min(1).max(3),
      unique: z.array(z.enum(["x", "y", "z"])).max(3),
      either: z.union([z.object({ kind: z.literal("a"), a: z.int() }), z.object({ kind: z.literal("b") })]),
      both: z.intersection(z.object({ p: z.string() }), z.object({ q: z.int() })),
      dict: z.record(z.string(), z.int().min(0)),
    }),
  };
  for (const [name, schema] of Object.entries(cases)) {
    it(name, () => {
      const doc = docOf({ [name]: schema });
      fc.assert(
        fc.property(valueArbitrary(doc, ref(name)), (value) => {
          const parsed = schema.safeParse(value);
          if (!parsed.success) throw new Error(`${JSON.stringify(value)}: ${parsed.error.message}`);
        }),
        { numRuns: 300, seed: 1 },
      );
    });
  }

  it("follows $ref through components, into recursive schemas without running away", () => {
    const doc: OpenApiDocument = {
      openapi: "3.1.0",
      paths: {},
      components: {
        schemas: {
          Node: {
            type: "object",
            properties: { name: { type: "string" }, children: { type: "array", items: ref("Node") } },
            required: ["name"],
          },
        },
      },
    };
    for (const value of fc.sample(valueArbitrary(doc, ref("Node")), { numRuns: 100, seed: 3 })) {
      expect(typeof (value as { name: unknown }).name).toBe("string");
    }
  });

  it("mutations mostly break the schema, and can carry __proto__ as an own JSON key", () => {
    const schema = cases.scalars as z.ZodType;
    const doc = docOf({ scalars: schema });
    const samples = fc.sample(mutatedValueArbitrary(doc, ref("scalars")), { numRuns: 500, seed: 5 });
    const broken = samples.filter((v) => !schema.safeParse(v).success).length;
    // Extra keys and stringified numbers still parse where zod strips or accepts them; most do not.
    expect(broken / samples.length).toBeGreaterThan(0.6);
    const texts = samples.map((v) => JSON.stringify(v) ?? "");
    expect(texts.some((t) => t.includes('"__proto__":'))).toBe(true);
    expect(texts.some((t) => t.length > 10_000)).toBe(true);
  });
});

describe("openapi-fuzz: the control plane's own document", () => {
  let h: ControlPlaneHarness;
  let doc: OpenApiDocument;
  beforeAll(async () => {
    h = await startControlPlane({ OPERATOR_TOKEN: "o".repeat(40) });
    doc = (await (await h.request("/v1/openapi.json")).json()) as OpenApiDocument;
  });
  afterAll(() => h?.close());

  it("every operation gets a generator whose requests match its method and path", () => {
    const operations = listOperations(doc);
    expect(operations.length).toBeGreaterThan(20);
    for (const op of operations) {
      const prefix = op.path.split("{")[0] ?? op.path;
      for (const req of fc.sample(requestArbitrary(doc, op), { numRuns: 30, seed: 7 })) {
        expect(req.method).toBe(op.method);
        expect(req.url.startsWith(prefix), `${op.key}: ${req.url}`).toBe(true);
        expect(() => new Request(`http://x${req.url}`, toRequestInit(req)), op.key).not.toThrow();
      }
    }
  });

  /** Components with a refinement no JSON Schema says, and the share of drawn values that must still parse. */
  const REFINED: Record<string, number> = {
    UpdateApiClientRequest: 0.5, // at least one field
    // A manifest's feature names, and its graph inputs, are each unique.
    Manifest: 0.95,
    ModelVersion: 0.95,
    ModelVersionList: 0.95,
    // An issuer has no query or fragment, and each group is mapped once.
    SsoSettingsRequest: 0.25,
    // A single sign-on URL has no fragment or credentials, and each group is mapped once.
    SamlSettingsRequest: 0.25,
  };

  it("values drawn from each component that zod registered parse with that zod schema", () => {
    const registry = z.globalRegistry._idmap;
    const failures: string[] = [];
    let checked = 0;
    for (const name of Object.keys(doc.components?.schemas ?? {})) {
      const schema = registry.get(name);
      if (!schema) continue;
      checked++;
      const values = fc.sample(valueArbitrary(doc, ref(name)), { numRuns: 100, seed: 11 });
      const bad = values.filter((v) => !z.safeParse(schema, v).success);
      if (bad.length / values.length > 1 - (REFINED[name] ?? 1)) {
        failures.push(`${name}: ${bad.length}/100, e.g. ${JSON.stringify(bad[0]).slice(0, 300)}`);
      }
    }
    expect(failures).toEqual([]);
    expect(checked).toBeGreaterThan(20);
  });

  it("half the requests are schema-valid and the rest name their mutation", () => {
    const op = listOperations(doc).find((o) => o.key === "POST /v1/users");
    if (!op) throw new Error("POST /v1/users is not in the document");
    const samples = fc.sample(requestArbitrary(doc, op), { numRuns: 400, seed: 9 });
    const clean = samples.filter((r) => r.mutations.length === 0);
    expect(clean.length / samples.length).toBeGreaterThan(0.4);
    const create = z.globalRegistry._idmap.get("CreateUserRequest");
    for (const r of clean) {
      expect(create && z.safeParse(create, JSON.parse(bodyText(r))).success, bodyText(r)).toBe(true);
      expect(r.headers["content-type"]).toMatch(/^application\/json/);
    }
    const kinds = new Set(samples.flatMap((r) => r.mutations));
    for (const kind of ["body value", "truncated JSON", "broken JSON", "missing body"])
      expect(kinds).toContain(kind);
    expect([...kinds].some((k) => k.startsWith("content-type"))).toBe(true);
  });
});

describe("openapi-fuzz: response invariants", () => {
  const doc: OpenApiDocument = {
    openapi: "3.1.0",
    paths: {},
    components: {
      schemas: {
        Created: { type: "object", properties: { token: { type: "string" } } },
        Plain: { type: "object", properties: { name: { type: "string" } } },
      },
    },
  };
  const op = (schema: string): OperationObject => ({
    responses: { "201": { content: { "application/json": { schema: ref(schema) } } } },
  });
  const request = { method: "POST", url: "/v1/things?name=tnt_mine", headers: {}, mutations: [] };
  const check = (status: number, text: string, operation = op("Plain"), requestId = "req_0123456789") =>
    responseViolations({
      doc,
      operation,
      request,
      sent: sentText(request),
      status,
      headers: new Headers({ "x-request-id": requestId }),
      text,
      foreign: ["tnt_theirs", "tnt_mine"],
    });
  const envelope = JSON.stringify({
    error: { code: "NOT_FOUND", message: "x", requestId: "req_0123456789" },
  });

  it("accepts a clean success and a clean error envelope", () => {
    expect(check(201, '{"name":"a"}')).toEqual([]);
    expect(check(404, envelope)).toEqual([]);
  });

  it("flags 5xx, bodies that are not the envelope, and a request id that differs from the header", () => {
    expect(check(500, envelope)).toContain("status 500");
    expect(check(400, "Bad Request")).toContain("4xx body is not JSON");
    expect(check(404, envelope, op("Plain"), "req_other00000")).toContain(
      "envelope requestId differs from x-request-id",
    );
  });

  it("flags stack traces and another tenant's data, but not what the caller sent itself", () => {
    expect(check(201, '{"name":"Error\\n    at handler (/srv/app/routes/x.ts:12:5)"}')).toContain(
      "stack trace in body",
    );
    expect(check(201, '{"name":"tnt_theirs"}')).toEqual(["another tenant's data in the body: tnt_theirs"]);
    expect(check(201, '{"name":"tnt_mine"}')).toEqual([]);
  });

  it("allows a secret only in a success whose documented schema carries one", () => {
    expect(check(201, '{"token":"churn_pat_abc"}', op("Created"))).toEqual([]);
    expect(check(201, '{"name":"churn_pat_abc"}', op("Plain"))).toEqual([
      "secret in a response that documents none: churn_pat_abc",
    ]);
  });
});
