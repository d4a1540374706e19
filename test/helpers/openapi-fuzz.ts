import fc from "fast-check";

/**
 * Turns an OpenAPI 3.1 document into fast-check arbitraries, one request generator per operation. Requests
 * mix schema-valid parts (so they reach the handlers and the database, not only the validator) with
 * mutations: wrong types, missing and extra keys, prototype keys, huge and odd strings, numbers as strings,
 * deep nesting, wrong content types and truncated JSON. Pure: no I/O, no test framework.
 */

export interface SchemaObject {
  $ref?: string;
  type?: string | string[];
  properties?: Record<string, SchemaObject>;
  required?: string[];
  additionalProperties?: boolean | SchemaObject;
  items?: SchemaObject;
  prefixItems?: SchemaObject[];
  enum?: unknown[];
  const?: unknown;
  anyOf?: SchemaObject[];
  oneOf?: SchemaObject[];
  allOf?: SchemaObject[];
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number | boolean;
  exclusiveMaximum?: number | boolean;
  multipleOf?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  format?: string;
  minItems?: number;
  maxItems?: number;
  uniqueItems?: boolean;
  nullable?: boolean;
  contentMediaType?: string;
  [key: string]: unknown;
}

export interface ParameterObject {
  name: string;
  in: "path" | "query" | "header" | "cookie";
  required?: boolean;
  schema?: SchemaObject;
  $ref?: string;
}

export interface MediaTypeObject {
  schema?: SchemaObject;
}

export interface OperationObject {
  operationId?: string;
  parameters?: ParameterObject[];
  requestBody?: { required?: boolean; content?: Record<string, MediaTypeObject>; $ref?: string };
  responses?: Record<string, { content?: Record<string, MediaTypeObject>; $ref?: string }>;
  security?: Record<string, string[]>[];
}

export interface OpenApiDocument {
  openapi: string;
  paths: Record<string, Record<string, unknown>>;
  components?: {
    schemas?: Record<string, SchemaObject>;
    parameters?: Record<string, ParameterObject>;
    requestBodies?: Record<string, unknown>;
    responses?: Record<string, unknown>;
  };
}

export interface OperationRef {
  /** "POST /v1/users/{id}", as the document spells the path. */
  key: string;
  method: string;
  path: string;
  operation: OperationObject;
}

/** One form field: text, or a file part. */
export type FormValue = string | { bytes: Uint8Array; filename: string; type: string };

export type FuzzBody =
  | { kind: "text"; text: string }
  | { kind: "bytes"; bytes: Uint8Array }
  | { kind: "multipart"; fields: [string, FormValue][] };

/** A generated request as plain data; toRequestInit builds a fresh RequestInit from it for each send. */
export interface FuzzRequest {
  method: string;
  /** Path with the query string. */
  url: string;
  headers: Record<string, string>;
  body?: FuzzBody;
  /** Names the mutations applied; empty when every part was drawn from its schema. */
  mutations: string[];
}

export class UnsupportedOperationError extends Error {}

const HTTP_METHODS = ["get", "put", "post", "delete", "patch", "head", "options", "trace"];

/** Every operation of the document, in document order. */
export function listOperations(doc: OpenApiDocument): OperationRef[] {
  const out: OperationRef[] = [];
  for (const [path, item] of Object.entries(doc.paths ?? {})) {
    for (const [method, operation] of Object.entries(item ?? {})) {
      if (!HTTP_METHODS.includes(method)) continue;
      out.push({
        key: `${method.toUpperCase()} ${path}`,
        method: method.toUpperCase(),
        path,
        operation: operation as OperationObject,
      });
    }
  }
  return out;
}

/** Follows a local `$ref` ("#/components/schemas/X") through the document. */
export function resolveRef<T>(doc: OpenApiDocument, ref: string): T {
  if (!ref.startsWith("#/")) throw new UnsupportedOperationError(`Only local $refs are supported: ${ref}`);
  let node: unknown = doc;
  for (const raw of ref.slice(2).split("/")) {
    const part = raw.replace(/~1/g, "/").replace(/~0/g, "~");
    node = (node as Record<string, unknown> | undefined)?.[part];
  }
  if (node === undefined) throw new UnsupportedOperationError(`Unresolvable $ref ${ref}`);
  return node as T;
}

function deref(doc: OpenApiDocument, schema: SchemaObject, seen = 0): SchemaObject {
  if (schema.$ref === undefined) return schema;
  if (seen > 32) throw new UnsupportedOperationError(`$ref cycle at ${schema.$ref}`);
  const { $ref, ...rest } = schema;
  const target = deref(doc, resolveRef<SchemaObject>(doc, $ref), seen + 1);
  return Object.keys(rest).length === 0 ? target : { ...target, ...rest };
}

/** Shallow merge of allOf members (properties, required, bounds): enough for the objects zod emits. */
function mergeAllOf(doc: OpenApiDocument, schema: SchemaObject): SchemaObject {
  const { allOf, ...base } = schema;
  let merged: SchemaObject = base;
  for (const part of allOf ?? []) {
    const p = normalize(doc, part);
    merged = {
      ...p,
      ...merged,
      properties: { ...(p.properties ?? {}), ...(merged.properties ?? {}) },
      required: [...new Set([...(p.required ?? []), ...(merged.required ?? [])])],
      type: merged.type ?? p.type,
    };
  }
  return merged;
}

function normalize(doc: OpenApiDocument, schema: SchemaObject | undefined): SchemaObject {
  let s = deref(doc, schema ?? {});
  if (s.allOf) s = mergeAllOf(doc, s);
  return s;
}

function typesOf(s: SchemaObject): string[] {
  if (Array.isArray(s.type)) return s.type;
  if (typeof s.type === "string") return s.nullable ? [s.type, "null"] : [s.type];
  if (s.properties || s.additionalProperties !== undefined) return ["object"];
  if (s.items || s.prefixItems) return ["array"];
  return [];
}

/** Every property name reachable in a schema (through $ref, combinators, items): for "may this response carry X". */
export function schemaPropertyNames(doc: OpenApiDocument, schema: SchemaObject | undefined): Set<string> {
  const names = new Set<string>();
  const seen = new Set<unknown>();
  const walk = (node: SchemaObject | undefined) => {
    if (!node || typeof node !== "object" || seen.has(node)) return;
    seen.add(node);
    if (node.$ref) return walk(resolveRef<SchemaObject>(doc, node.$ref));
    for (const [name, child] of Object.entries(node.properties ?? {})) {
      names.add(name);
      walk(child);
    }
    for (const child of [...(node.anyOf ?? []), ...(node.oneOf ?? []), ...(node.allOf ?? [])]) walk(child);
    walk(node.items);
    for (const child of node.prefixItems ?? []) walk(child);
    if (typeof node.additionalProperties === "object") walk(node.additionalProperties);
  };
  walk(schema);
  return names;
}

/** The documented response schema for a status (exact, then "4XX"-style, then "default"). */
export function responseSchema(
  doc: OpenApiDocument,
  operation: OperationObject,
  status: number,
): SchemaObject | undefined {
  const responses = operation.responses ?? {};
  let response = responses[String(status)] ?? responses[`${String(status)[0]}XX`] ?? responses.default;
  if (response?.$ref) response = resolveRef(doc, response.$ref);
  const content = response?.content ?? {};
  return (content["application/json"] ?? Object.values(content)[0])?.schema;
}

// ---------------------------------------------------------------------------------------------------------
// Values that match a schema

export interface ValueOptions {
  /** Depth beyond which optional properties are left out and arrays kept at their minimum. */
  maxDepth?: number;
  /** Cap on generated array lengths (beyond minItems). */
  maxArray?: number;
  /**
   * Real values for properties (and form fields) of this name at any depth, such as ids that exist: drawn
   * three times in four, beside generated ones. Uint8Array values become file parts in multipart bodies.
   */
  fieldValues?: (name: string) => fc.Arbitrary<unknown> | undefined;
}

function withKnown<T>(generated: fc.Arbitrary<T>, known: fc.Arbitrary<T> | undefined): fc.Arbitrary<T> {
  return known ? fc.oneof({ arbitrary: known, weight: 3 }, { arbitrary: generated, weight: 1 }) : generated;
}

const lowerAlnum = fc.constantFrom(..."abcdefghijklmnopqrstuvwxyz0123456789".split(""));

/** Emails every validator accepts (fast-check's own include forms that strict validators refuse). */
const emailArb = fc
  .tuple(
    fc.string({ unit: lowerAlnum, minLength: 1, maxLength: 12 }),
    fc.string({ unit: lowerAlnum, minLength: 1, maxLength: 10 }),
  )
  .map(([local, domain]) => `${local}@${domain}.example`);

const dateTimeArb = fc
  .date({ min: new Date("1971-01-01T00:00:00Z"), max: new Date("2099-12-31T23:59:59Z"), noInvalidDate: true })
  .map((d) => d.toISOString());

const uriArb = fc.webUrl({ withQueryParameters: true, withFragments: false });

function stringArb(s: SchemaObject): fc.Arbitrary<string> {
  const minLength = s.minLength ?? 0;
  const maxLength = s.maxLength ?? Math.max(minLength + 24, 24);
  const fits = (v: string) => v.length >= minLength && v.length <= (s.maxLength ?? Number.POSITIVE_INFINITY);
  let base: fc.Arbitrary<string> | undefined;
  switch (s.format) {
    case "date-time":
      base = dateTimeArb;
      break;
    case "date":
      base = dateTimeArb.map((v) => v.slice(0, 10));
      break;
    case "uuid":
      base = fc.uuid();
      break;
    case "uri":
    case "url":
      base = uriArb;
      break;
    case "email":
      base = emailArb;
      break;
  }
  if (!base && s.pattern !== undefined) {
    try {
      base = fc.stringMatching(new RegExp(s.pattern));
    } catch {
      base = undefined; // a pattern fast-check cannot invert: fall back to plain strings
    }
  }
  if (base) return base.filter(fits);
  // Trimmed: many APIs trim before checking a minimum length, which no JSON Schema can say.
  return fc
    .string({ minLength, maxLength: Math.min(maxLength, minLength + 40) })
    .map((v) => (v.trim().length >= minLength ? v.trim() : "x".repeat(minLength)));
}

function numberArb(s: SchemaObject, integer: boolean): fc.Arbitrary<number> {
  const exMin = typeof s.exclusiveMinimum === "number" ? s.exclusiveMinimum : undefined;
  const exMax = typeof s.exclusiveMaximum === "number" ? s.exclusiveMaximum : undefined;
  if (integer) {
    let min = s.minimum ?? (exMin !== undefined ? Math.floor(exMin) + 1 : -1_000_000);
    let max = s.maximum ?? (exMax !== undefined ? Math.ceil(exMax) - 1 : 1_000_000);
    if (exMin !== undefined) min = Math.max(min, Math.floor(exMin) + 1);
    if (exMax !== undefined) max = Math.min(max, Math.ceil(exMax) - 1);
    min = Math.max(Math.ceil(min), Number.MIN_SAFE_INTEGER);
    max = Math.min(Math.floor(max), Number.MAX_SAFE_INTEGER);
    const arb = fc.integer({ min, max: Math.max(min, max) });
    const step = s.multipleOf;
    return step && Number.isInteger(step) ? arb.map((v) => Math.min(max, Math.ceil(v / step) * step)) : arb;
  }
  const min = s.minimum ?? exMin ?? -1e9;
  const max = s.maximum ?? exMax ?? 1e9;
  return fc.double({
    min,
    max: Math.max(min, max),
    minExcluded: exMin !== undefined && s.minimum === undefined,
    maxExcluded: exMax !== undefined && s.maximum === undefined,
    noNaN: true,
    noDefaultInfinity: true,
  });
}

/** Schema-valid values (best effort for patterns and refinements no JSON Schema can say). */
export function valueArbitrary(
  doc: OpenApiDocument,
  schema: SchemaObject | undefined,
  options: ValueOptions = {},
  depth = 0,
): fc.Arbitrary<unknown> {
  const maxDepth = options.maxDepth ?? 6;
  const maxArray = options.maxArray ?? 4;
  const s = normalize(doc, schema);
  if ("const" in s) return fc.constant(s.const);
  if (s.enum) return fc.constantFrom(...s.enum);
  const alternatives = s.oneOf ?? s.anyOf;
  if (alternatives) {
    const { oneOf: _o, anyOf: _a, ...rest } = s;
    return fc.oneof(
      ...alternatives.map((alt) =>
        valueArbitrary(doc, { ...rest, ...normalize(doc, alt) }, options, depth + 1),
      ),
    );
  }
  const types = typesOf(s);
  if (types.length === 0) return fc.jsonValue({ maxDepth: 2 });
  if (types.length > 1) {
    return fc.oneof(...types.map((type) => valueArbitrary(doc, { ...s, type }, options, depth)));
  }
  switch (types[0]) {
    case "null":
      return fc.constant(null);
    case "boolean":
      return fc.boolean();
    case "integer":
      return numberArb(s, true);
    case "number":
      return numberArb(s, false);
    case "string":
      return stringArb(s);
    case "array": {
      const minLength = s.minItems ?? 0;
      const cap = depth >= maxDepth ? minLength : minLength + maxArray;
      const maxLength = Math.max(minLength, Math.min(s.maxItems ?? cap, cap));
      const item = valueArbitrary(doc, s.items, options, depth + 1);
      return s.uniqueItems
        ? fc.uniqueArray(item, { minLength, maxLength, selector: (v) => JSON.stringify(v) })
        : fc.array(item, { minLength, maxLength });
    }
    case "object": {
      const required = new Set(s.required ?? []);
      const props = Object.entries(s.properties ?? {}).filter(([k]) => depth < maxDepth || required.has(k));
      const record = fc.record(
        Object.fromEntries(
          props.map(([k, v]) => [
            k,
            withKnown(valueArbitrary(doc, v, options, depth + 1), options.fieldValues?.(k)),
          ]),
        ),
        { requiredKeys: props.map(([k]) => k).filter((k) => required.has(k)) },
      );
      const extra = s.additionalProperties;
      if (extra && typeof extra === "object" && depth < maxDepth) {
        const known = new Set(Object.keys(s.properties ?? {}));
        return fc
          .tuple(
            record,
            fc.dictionary(
              fc.string({ minLength: 1, maxLength: 12 }).filter((k) => !known.has(k)),
              valueArbitrary(doc, extra, options, depth + 1),
              { maxKeys: 3 },
            ),
          )
          .map(([r, d]) => ({ ...d, ...r }));
      }
      return record;
    }
    default:
      return fc.jsonValue({ maxDepth: 2 });
  }
}

// ---------------------------------------------------------------------------------------------------------
// Mutations

/** An object with an own key (even `__proto__`, which a literal would turn into the prototype). */
function withKey(obj: Record<string, unknown>, key: string, value: unknown): Record<string, unknown> {
  const copy: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) Object.defineProperty(copy, k, ownProp(v));
  Object.defineProperty(copy, key, ownProp(value));
  return copy;
}

const ownProp = (value: unknown): PropertyDescriptor => ({
  value,
  enumerable: true,
  writable: true,
  configurable: true,
});

function nest(depth: number, leaf: unknown, asArray: boolean): unknown {
  let v = leaf;
  for (let i = 0; i < depth; i++) v = asArray ? [v] : { a: v };
  return v;
}

/** Strings that stress parsers, validators, SQL, paths and logs. */
export const nastyString: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    "",
    " ",
    "\u0000",
    "a\u0000b",
    "\ud800",
    "\udfff\ud800",
    "💥🧨\u200d",
    "\u202e",
    "NaN",
    "Infinity",
    "-Infinity",
    "-0",
    "1e309",
    "0x1f",
    "1_000",
    "null",
    "undefined",
    "true",
    "[]",
    "{}",
    "__proto__",
    "constructor",
    "prototype",
    "' OR '1'='1' --",
    '"; DROP TABLE users; --',
    "../../../../etc/passwd",
    "%00",
    "%",
    "%zz",
    "$" + "{7*7}",
    "<script>alert(1)</script>",
    "\r\nX-Injected: 1",
    "churn_pat_",
    "churn_cs_",
    "tnt_0000000000000000000000",
    "mv_0000000000000000000000",
  ),
  fc.integer({ min: 1000, max: 200_000 }).map((n) => "x".repeat(n)),
  fc.integer({ min: 10, max: 5000 }).map((n) => "é🧨".repeat(n)),
  fc.string({ unit: "grapheme", maxLength: 40 }),
  fc.string({ unit: "binary", maxLength: 40 }),
);

const numberLikeStrings = fc.constantFrom(
  "NaN",
  "Infinity",
  "-Infinity",
  "1e999",
  "-0",
  "0x10",
  "1,5",
  " 1 ",
);
const oddNumbers = fc.constantFrom(
  0,
  -0,
  -1,
  0.5,
  1e308,
  -1e308,
  5e-324,
  Number.MAX_SAFE_INTEGER + 2,
  -(2 ** 63),
  2 ** 31,
  2 ** 53,
);

/** A value of another JSON type than the schema allows (or just a surprising one). */
export const wrongTypeValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(null, true, false, 0, -1, 1.5, "", "x", [], {}, [null], { "": null }),
  oddNumbers,
  numberLikeStrings,
  nastyString,
  fc.jsonValue({ maxDepth: 3 }),
);

function mutateValue(
  doc: OpenApiDocument,
  schema: SchemaObject | undefined,
  options: ValueOptions,
  depth: number,
): fc.Arbitrary<unknown> {
  const s = normalize(doc, schema);
  const valid = valueArbitrary(doc, s, options, depth);
  const generic: fc.Arbitrary<unknown>[] = [
    wrongTypeValue,
    fc.integer({ min: 50, max: 3000 }).map((d) => nest(d, 1, true)),
    fc.integer({ min: 50, max: 3000 }).map((d) => nest(d, "x", false)),
  ];
  const types = typesOf(s);
  const specific: fc.Arbitrary<unknown>[] = [];
  if (types.includes("object") && depth < 8) {
    const required = s.required ?? [];
    const propNames = Object.keys(s.properties ?? {});
    const asObject = valid.map((v) =>
      v && typeof v === "object" && !Array.isArray(v) ? v : {},
    ) as fc.Arbitrary<Record<string, unknown>>;
    if (required.length > 0) {
      specific.push(
        fc.tuple(asObject, fc.constantFrom(...required)).map(([v, k]) => {
          const { [k]: _dropped, ...rest } = v;
          return rest;
        }),
      );
    }
    specific.push(
      fc
        .tuple(
          asObject,
          fc.constantFrom("__proto__", "constructor", "prototype", "toString", "hasOwnProperty", "extra", ""),
          fc.oneof(fc.constant({ polluted: true }), wrongTypeValue),
        )
        .map(([v, k, x]) => withKey(v, k, x)),
    );
    if (propNames.length > 0) {
      specific.push(
        fc
          .constantFrom(...propNames)
          .chain((k) =>
            fc
              .tuple(asObject, mutateValue(doc, s.properties?.[k], options, depth + 1))
              .map(([v, x]) => withKey(v, k, x)),
          ),
      );
    }
  }
  if (types.includes("array") && depth < 8) {
    specific.push(
      fc
        .tuple(fc.integer({ min: 200, max: 5000 }), valueArbitrary(doc, s.items, options, depth + 1))
        .map(([n, item]) => Array.from({ length: n }, () => item)),
      fc.array(mutateValue(doc, s.items, options, depth + 1), { minLength: 1, maxLength: 3 }),
    );
  }
  if (types.includes("string")) {
    specific.push(
      nastyString,
      stringArb({ ...s, minLength: undefined, maxLength: undefined, format: undefined }),
    );
    if (s.maxLength !== undefined) specific.push(fc.constant("y".repeat(s.maxLength + 1)));
  }
  if (types.includes("integer") || types.includes("number")) {
    specific.push(
      oddNumbers,
      numberLikeStrings,
      valid.map((v) => String(v)),
      fc.double({ noNaN: true, noDefaultInfinity: true }),
    );
    if (s.minimum !== undefined) specific.push(fc.constant(s.minimum - 1));
    if (s.maximum !== undefined) specific.push(fc.constant(s.maximum + 1));
  }
  if (s.enum || "const" in s) specific.push(fc.string({ maxLength: 12 }), nastyString);
  return fc.oneof(...(specific.length > 0 ? [...specific, ...specific] : []), ...generic);
}

/** Values that mostly break the schema in one place, so the rest still gets past the validator. */
export function mutatedValueArbitrary(
  doc: OpenApiDocument,
  schema: SchemaObject | undefined,
  options: ValueOptions = {},
): fc.Arbitrary<unknown> {
  return mutateValue(doc, schema, options, 0);
}

// ---------------------------------------------------------------------------------------------------------
// Requests

export interface RequestOptions extends ValueOptions {
  /** Extra candidates for a path parameter (real ids of this tenant and another); mixed with generated ones. */
  pathValues?: (name: string) => fc.Arbitrary<string> | undefined;
  /** Share of requests in which every part is schema-valid (0..1). Default 0.5. */
  validShare?: number;
}

/** A form field can only be text or a file: objects and arrays travel as JSON text. */
function formText(value: unknown): string {
  if (typeof value === "string") return value;
  return JSON.stringify(value) ?? String(value);
}

/** Lone surrogates become U+FFFD, as a UTF-8 encoder would send them. */
export function wellFormed(text: string): string {
  return text.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, "\ufffd");
}

/** Percent-encodes a path or query value; lone surrogates (which encodeURIComponent refuses) become U+FFFD. */
export function encodeValue(value: unknown): string {
  const text = typeof value === "string" ? value : (JSON.stringify(value) ?? String(value));
  return encodeURIComponent(wellFormed(text));
}

/** A header value fetch accepts (no controls, nothing beyond Latin-1), so the request reaches the app. */
export function headerSafe(value: unknown): string {
  const text = typeof value === "string" ? value : (JSON.stringify(value) ?? String(value));
  return text
    .replace(/[^\t\x20-\x7e\x80-\xff]/g, "?")
    .trim()
    .slice(0, 8000);
}

/** Raw path segments that are not clean percent-encoding: hand-made to probe the router's decoding. */
const rawSegments = fc.constantFrom(
  "%",
  "%zz",
  "%C0%AF",
  "%00",
  "..",
  "%2e%2e",
  "a%2Fb",
  "%E2%82",
  "%FF",
  ".",
);

interface Part<T> {
  value: T;
  mutation?: string;
}

function paramArbitrary(
  doc: OpenApiDocument,
  param: ParameterObject,
  options: RequestOptions,
  valid: boolean,
): fc.Arbitrary<Part<unknown> | undefined> {
  const good = valueArbitrary(doc, param.schema, options).map((value): Part<unknown> => ({ value }));
  const extra = param.in === "path" ? options.pathValues?.(param.name) : undefined;
  const goodOrKnown = extra
    ? fc.oneof(
        good,
        extra.map((value): Part<unknown> => ({ value })),
      )
    : good;
  const omitted = fc.constant(undefined);
  if (valid) return param.required ? goodOrKnown : fc.oneof(goodOrKnown, goodOrKnown, omitted);
  const bad = mutatedValueArbitrary(doc, param.schema, options).map(
    (value): Part<unknown> => ({ value, mutation: `${param.in}:${param.name}` }),
  );
  const arbs: fc.Arbitrary<Part<unknown> | undefined>[] = [goodOrKnown, bad, bad];
  if (param.in === "path") {
    arbs.push(rawSegments.map((raw) => ({ value: raw, mutation: `raw path ${param.name}` })));
  } else {
    arbs.push(
      param.required
        ? omitted.map(() => ({ value: undefined, mutation: `missing ${param.name}` }) as Part<unknown>)
        : omitted,
    );
  }
  return fc.oneof(...arbs);
}

const jsonContentTypes = fc.constantFrom("application/json", "application/json; charset=utf-8");
const wrongContentTypes = fc.constantFrom(
  "APPLICATION/JSON",
  "application/vnd.api+json",
  "text/plain",
  "",
  "application/x-www-form-urlencoded",
  "multipart/form-data",
  "multipart/form-data; boundary=x",
  "application/json; charset=utf-16",
  "application/xml",
  "*/*",
  "application/octet-stream",
);

/** Raw bodies no schema expects: truncated, deeply nested, binary, empty, duplicated keys. */
const brokenJsonText: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    "",
    "{",
    "[",
    "{}}",
    '{"a":',
    "null",
    "0",
    '"str"',
    "[]",
    '{"a":1,"a":2}',
    "\ufeff{}",
    "{'a':1}",
  ),
  fc.integer({ min: 100, max: 20_000 }).map((d) => `${"[".repeat(d)}${"]".repeat(d)}`),
  fc.integer({ min: 100, max: 20_000 }).map((d) => `${'{"a":'.repeat(d)}1${"}".repeat(d)}`),
  fc.string({ maxLength: 200 }),
  fc.uint8Array({ maxLength: 300 }).map((b) => new TextDecoder().decode(b)),
  fc.integer({ min: 100_000, max: 2_000_000 }).map((n) => `{"a":"${"z".repeat(n)}"}`),
);

function truncate(text: string, cut: number): string {
  return text.length <= 1 ? "{" : text.slice(0, Math.max(1, Math.floor(text.length * cut)));
}

function jsonBodies(
  doc: OpenApiDocument,
  schema: SchemaObject | undefined,
  options: RequestOptions,
  valid: boolean,
): fc.Arbitrary<{ body: FuzzBody; contentType: string; mutation?: string }> {
  const good = valueArbitrary(doc, schema, options);
  const text = (v: unknown) => JSON.stringify(v) ?? "null";
  if (valid)
    return fc
      .tuple(good, jsonContentTypes)
      .map(([v, ct]) => ({ body: { kind: "text", text: text(v) }, contentType: ct }));
  return fc.oneof(
    fc
      .tuple(good, jsonContentTypes)
      .map(([v, ct]) => ({ body: { kind: "text" as const, text: text(v) }, contentType: ct })),
    fc.tuple(mutatedValueArbitrary(doc, schema, options), jsonContentTypes).map(([v, ct]) => ({
      body: { kind: "text" as const, text: text(v) },
      contentType: ct,
      mutation: "body value",
    })),
    fc.tuple(mutatedValueArbitrary(doc, schema, options), jsonContentTypes).map(([v, ct]) => ({
      body: { kind: "text" as const, text: text(v) },
      contentType: ct,
      mutation: "body value",
    })),
    fc.tuple(good, wrongContentTypes).map(([v, ct]) => ({
      body: { kind: "text" as const, text: text(v) },
      contentType: ct,
      mutation: `content-type ${ct || "(none)"}`,
    })),
    fc.tuple(good, fc.double({ min: 0, max: 0.99, noNaN: true })).map(([v, cut]) => ({
      body: { kind: "text" as const, text: truncate(text(v), cut) },
      contentType: "application/json",
      mutation: "truncated JSON",
    })),
    fc.tuple(brokenJsonText, jsonContentTypes).map(([t, ct]) => ({
      body: { kind: "text" as const, text: t },
      contentType: ct,
      mutation: "broken JSON",
    })),
  );
}

function formFields(
  doc: OpenApiDocument,
  schema: SchemaObject | undefined,
  options: RequestOptions,
  valid: boolean,
  files: boolean,
): fc.Arbitrary<{ fields: [string, FormValue][]; mutation?: string }> {
  const s = normalize(doc, schema);
  const required = new Set(s.required ?? []);
  const entries = Object.entries(s.properties ?? {}).map(([name, prop]) => {
    const p = normalize(doc, prop);
    const isFile = files && (p.format === "binary" || p.contentMediaType !== undefined);
    const known = options
      .fieldValues?.(name)
      ?.map(
        (v): FormValue =>
          v instanceof Uint8Array
            ? { bytes: v, filename: `${name}.bin`, type: "application/octet-stream" }
            : formText(v),
      );
    const generated: fc.Arbitrary<FormValue> = isFile
      ? fc
          .tuple(
            fc.uint8Array({ maxLength: 2048 }),
            fc.constantFrom("f.bin", "model.onnx", "", "../x", "é.json"),
          )
          .map(([bytes, filename]) => ({ bytes, filename, type: "application/octet-stream" }))
      : valueArbitrary(doc, p, options).map(formText);
    const value = withKnown(generated, known);
    const broken: fc.Arbitrary<FormValue> = fc.oneof(
      mutatedValueArbitrary(doc, p, options).map(formText),
      nastyString,
      fc.uint8Array({ maxLength: 512 }).map((bytes) => ({ bytes, filename: "x", type: "application/json" })),
    );
    return { name, value, broken, required: required.has(name) };
  });
  const present = (e: (typeof entries)[number]) =>
    e.required
      ? e.value.map((v) => [v])
      : fc.oneof(
          e.value.map((v) => [v]),
          fc.constant([] as FormValue[]),
        );
  const fieldsOf = (choice: { name: string; values: FormValue[] }[]) =>
    choice.flatMap(({ name, values }) => values.map((v): [string, FormValue] => [name, v]));
  const validFields = fc
    .tuple(...entries.map((e) => present(e).map((values) => ({ name: e.name, values }))))
    .map(fieldsOf);
  if (valid) return validFields.map((fields) => ({ fields }));
  const mutated: fc.Arbitrary<{ fields: [string, FormValue][]; mutation?: string }>[] = [
    validFields.map((fields) => ({ fields })),
    fc
      .tuple(
        validFields,
        fc.dictionary(fc.constantFrom("__proto__", "constructor", "extra", ""), nastyString, { maxKeys: 2 }),
      )
      .map(([fields, extra]) => ({
        fields: [...fields, ...Object.entries(extra)] as [string, FormValue][],
        mutation: "extra fields",
      })),
  ];
  if (entries.length > 0) {
    mutated.push(
      fc.tuple(validFields, fc.constantFrom(...entries), fc.boolean()).chain(([fields, target, drop]) =>
        (drop ? fc.constant(undefined) : target.broken).map((replacement) => ({
          fields: [
            ...fields.filter(([n]) => n !== target.name),
            ...(replacement === undefined ? [] : [[target.name, replacement] as [string, FormValue]]),
          ],
          mutation: drop ? `missing ${target.name}` : `field ${target.name}`,
        })),
      ),
      fc.tuple(validFields, fc.constantFrom(...entries)).chain(([fields, target]) =>
        target.value.map((v) => ({
          fields: [...fields, [target.name, v] as [string, FormValue]],
          mutation: `duplicated ${target.name}`,
        })),
      ),
    );
  }
  return fc.oneof(...mutated);
}

function urlEncode(fields: [string, FormValue][]): string {
  const params = new URLSearchParams();
  for (const [k, v] of fields)
    params.append(wellFormed(k), typeof v === "string" ? wellFormed(v) : new TextDecoder().decode(v.bytes));
  return params.toString();
}

function bodyArbitrary(
  doc: OpenApiDocument,
  operation: OperationObject,
  options: RequestOptions,
  valid: boolean,
): fc.Arbitrary<{ body?: FuzzBody; contentType?: string; mutation?: string }> {
  let requestBody = operation.requestBody;
  if (requestBody?.$ref) requestBody = resolveRef(doc, requestBody.$ref);
  const content = requestBody?.content ?? {};
  const types = Object.keys(content);
  if (types.length === 0) {
    if (valid) return fc.constant({});
    return fc.oneof(
      fc.constant({}),
      fc.constant({}),
      fc.tuple(brokenJsonText, fc.oneof(jsonContentTypes, wrongContentTypes)).map(([text, contentType]) => ({
        body: { kind: "text" as const, text },
        contentType,
        mutation: "unexpected body",
      })),
    );
  }
  const perType = types.map((type) => {
    const schema = content[type]?.schema;
    const base = type.split(";")[0]?.trim().toLowerCase() ?? "";
    if (base === "application/json" || base.endsWith("+json")) return jsonBodies(doc, schema, options, valid);
    if (base === "multipart/form-data") {
      return formFields(doc, schema, options, valid, true).map(({ fields, mutation }) => ({
        body: { kind: "multipart" as const, fields },
        mutation,
      }));
    }
    if (base === "application/x-www-form-urlencoded") {
      const form = formFields(doc, schema, options, valid, false).map(({ fields, mutation }) => ({
        body: { kind: "text" as const, text: urlEncode(fields) },
        contentType: "application/x-www-form-urlencoded",
        mutation,
      }));
      if (valid) return form;
      return fc.oneof(
        form,
        form,
        fc
          .tuple(form, wrongContentTypes)
          .map(([f, ct]) => ({ ...f, contentType: ct, mutation: `content-type ${ct}` })),
        brokenJsonText.map((text) => ({
          body: { kind: "text" as const, text },
          contentType: "application/x-www-form-urlencoded",
          mutation: "raw form text",
        })),
      );
    }
    if (base === "application/octet-stream" || base.startsWith("text/")) {
      return fc.uint8Array({ maxLength: 4096 }).map((bytes) => ({
        body: { kind: "bytes" as const, bytes },
        contentType: type,
      }));
    }
    throw new UnsupportedOperationError(`No body generator for ${type}`);
  });
  const chosen = fc.oneof(...perType);
  if (valid || requestBody?.required !== true) return chosen;
  return fc.oneof(chosen, chosen, chosen, fc.constant({ mutation: "missing body" }));
}

function fillPath(path: string, values: Record<string, Part<unknown> | undefined>, raw: Set<string>): string {
  return path.replace(/\{([^}]+)\}/g, (_, name: string) => {
    const part = values[name];
    if (part?.value === undefined) return "";
    return raw.has(name) ? String(part.value) : encodeValue(part.value);
  });
}

/** The request generator for one operation; throws UnsupportedOperationError when it cannot build one. */
export function requestArbitrary(
  doc: OpenApiDocument,
  ref: OperationRef,
  options: RequestOptions = {},
): fc.Arbitrary<FuzzRequest> {
  const params = (ref.operation.parameters ?? []).map((p) =>
    p.$ref ? resolveRef<ParameterObject>(doc, p.$ref) : p,
  );
  for (const name of ref.path.match(/\{([^}]+)\}/g) ?? []) {
    const bare = name.slice(1, -1);
    if (!params.some((p) => p.in === "path" && p.name === bare)) {
      params.push({ name: bare, in: "path", required: true, schema: { type: "string" } });
    }
  }
  const build = (valid: boolean) =>
    fc
      .tuple(
        fc.tuple(...params.map((p) => paramArbitrary(doc, p, options, valid))),
        bodyArbitrary(doc, ref.operation, options, valid),
        valid
          ? fc.constant([] as [string, string][])
          : fc.array(fc.tuple(fc.constantFrom("limit", "cursor", "__proto__", "a[b]", "x"), nastyString), {
              maxLength: 2,
            }),
      )
      .map(([parts, body, extraQuery]): FuzzRequest => {
        const mutations: string[] = [];
        const pathValues: Record<string, Part<unknown> | undefined> = {};
        const raw = new Set<string>();
        const query: string[] = [];
        const headers: Record<string, string> = {};
        params.forEach((p, i) => {
          const part = parts[i];
          if (part?.mutation) mutations.push(part.mutation);
          if (part?.mutation?.startsWith("raw path")) raw.add(p.name);
          if (p.in === "path") pathValues[p.name] = part;
          else if (part?.value === undefined) return;
          else if (p.in === "query") {
            const values = Array.isArray(part.value) ? part.value : [part.value];
            for (const v of values) query.push(`${encodeURIComponent(p.name)}=${encodeValue(v)}`);
          } else if (p.in === "header") {
            const v = headerSafe(part.value);
            if (v !== "") headers[p.name] = v;
          }
        });
        for (const [k, v] of extraQuery) {
          query.push(`${encodeURIComponent(k)}=${encodeValue(v)}`);
          mutations.push(`query ${k}`);
        }
        if (body.mutation) mutations.push(body.mutation);
        if (body.contentType !== undefined && body.contentType !== "")
          headers["content-type"] = body.contentType;
        const path = fillPath(ref.path, pathValues, raw);
        return {
          method: ref.method,
          url: query.length > 0 ? `${path}?${query.join("&")}` : path,
          headers,
          body: body.body,
          mutations,
        };
      });
  const share = Math.round((options.validShare ?? 0.5) * 100);
  return fc.oneof(
    { arbitrary: build(true), weight: share },
    { arbitrary: build(false), weight: 100 - share },
  );
}

/** One generator per operation, keyed "METHOD /path"; throws when any operation has none. */
export function operationArbitraries(
  doc: OpenApiDocument,
  options: (ref: OperationRef) => RequestOptions = () => ({}),
): Map<string, fc.Arbitrary<FuzzRequest>> {
  return new Map(listOperations(doc).map((ref) => [ref.key, requestArbitrary(doc, ref, options(ref))]));
}

/** A fresh RequestInit for a generated request (FormData and bodies are single-use). */
export function toRequestInit(req: FuzzRequest, extraHeaders: Record<string, string> = {}): RequestInit {
  const headers = new Headers();
  for (const [k, v] of Object.entries({ ...req.headers, ...extraHeaders })) headers.set(k, v);
  const init: RequestInit = { method: req.method, headers };
  if (!req.body || req.method === "GET" || req.method === "HEAD") return init;
  if (req.body.kind === "text") init.body = req.body.text;
  else if (req.body.kind === "bytes") init.body = req.body.bytes as BodyInit;
  else {
    const form = new FormData();
    for (const [name, value] of req.body.fields) {
      if (typeof value === "string") form.append(name, wellFormed(value));
      else form.append(name, new Blob([value.bytes as BlobPart], { type: value.type }), value.filename);
    }
    init.body = form;
  }
  return init;
}

/** The raw body text a request sends (for signing it, and for "did the caller send this string"). */
export function bodyText(req: FuzzRequest): string {
  if (!req.body) return "";
  if (req.body.kind === "text") return req.body.text;
  if (req.body.kind === "bytes") return new TextDecoder().decode(req.body.bytes);
  return req.body.fields
    .map(([k, v]) => `${k}=${typeof v === "string" ? v : new TextDecoder().decode(v.bytes)}`)
    .join("\n");
}

// ---------------------------------------------------------------------------------------------------------
// Invariants

export interface ResponseCheck {
  doc: OpenApiDocument;
  operation: OperationObject;
  request: FuzzRequest;
  /** Everything the caller sent (URL, header values, body text): strings found here may be echoed back. */
  sent: string;
  status: number;
  headers: Headers;
  text: string;
  /** Another tenant's ids, names, emails and secrets: none may appear unless the caller sent it. */
  foreign: string[];
  /** Secrets that existed before the request: never in a body, whatever the route. */
  knownSecrets?: string[];
  /** Response properties that documentedly carry a freshly created secret. */
  secretFields?: string[];
}

const STACK_TRACE = /at .+\.(ts|js|mjs|cjs):\d+/;
const SECRET = /churn_(?:pat|cs)_[A-Za-z0-9_-]+/g;
const SAFE_REQUEST_ID = /^[A-Za-z0-9_-]{8,64}$/;

/** What is wrong with a response: a 5xx, a malformed error, a stack trace, a secret or foreign data. */
export function responseViolations(check: ResponseCheck): string[] {
  const { status, text } = check;
  const problems: string[] = [];
  if (status >= 500) problems.push(`status ${status}`);
  if (status >= 400 && status < 500 && check.request.method !== "HEAD") {
    let envelope: { error?: { code?: unknown; message?: unknown; requestId?: unknown } } | undefined;
    try {
      envelope = JSON.parse(text);
    } catch {
      problems.push("4xx body is not JSON");
    }
    const error = envelope?.error;
    if (envelope && (typeof error?.code !== "string" || typeof error.message !== "string")) {
      problems.push("4xx body is not the error envelope");
    }
    if (envelope && (typeof error?.requestId !== "string" || !SAFE_REQUEST_ID.test(error.requestId))) {
      problems.push("4xx envelope without a request id");
    } else if (envelope && check.headers.get("x-request-id") !== error?.requestId) {
      problems.push("envelope requestId differs from x-request-id");
    }
  }
  if (STACK_TRACE.test(text)) problems.push("stack trace in body");
  const secrets = text.match(SECRET) ?? [];
  if (secrets.length > 0) {
    const fields = check.secretFields ?? ["token", "clientSecret", "client_secret"];
    const names = schemaPropertyNames(check.doc, responseSchema(check.doc, check.operation, status));
    const documented = status < 300 && fields.some((f) => names.has(f));
    const fresh = secrets.filter((s) => !check.sent.includes(s));
    if (!documented && fresh.length > 0)
      problems.push(`secret in a response that documents none: ${fresh[0]}`);
    for (const known of check.knownSecrets ?? []) {
      if (text.includes(known) && !check.sent.includes(known))
        problems.push("an existing secret in the body");
    }
  }
  for (const item of check.foreign) {
    if (item && text.includes(item) && !check.sent.includes(item)) {
      problems.push(`another tenant's data in the body: ${item}`);
    }
  }
  return problems;
}

/** The strings a request carries, for "the caller sent it" (echoes are not leaks). */
export function sentText(req: FuzzRequest, extraHeaders: Record<string, string> = {}): string {
  let url = req.url;
  try {
    url = `${url}\n${decodeURIComponent(req.url)}`;
  } catch {
    // not decodable: the raw form is all the server saw
  }
  return [url, ...Object.values(req.headers), ...Object.values(extraHeaders), bodyText(req)].join("\n");
}
