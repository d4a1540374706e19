import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PERMISSIONS, type Permission } from "../../control-plane/src/auth/permissions.ts";
import { ROLES, type Role } from "../../control-plane/src/db/schema/index.ts";
import { SCOPES, type Scope } from "../../shared/src/scopes.ts";
import {
  type ControlPlaneHarness,
  type ErrorBody,
  publishForm,
  startControlPlane,
  type TestTenant,
} from "../helpers/control-plane-harness.ts";
import type { ModelFixture } from "../helpers/model-fixture.ts";

let h: ControlPlaneHarness;
let m1: ModelFixture;
beforeAll(async () => {
  h = await startControlPlane();
  m1 = await h.fixture(7);
});
afterAll(() => h?.close());

interface RouteCase {
  /** As the OpenAPI document spells it. */
  operation: string;
  permission: Permission;
  call(token: string, ctx: { versionId: string }): Promise<Response>;
}

/** Every authenticated route and the permission it must demand. */
const ROUTES: RouteCase[] = [
  {
    operation: "GET /v1/models/{name}/versions",
    permission: "models:read",
    call: (token) => h.request("/v1/models/churn/versions", { token }),
  },
  {
    operation: "POST /v1/models/{name}/versions",
    permission: "models:publish",
    call: (token) =>
      h.request("/v1/models/churn/versions", {
        method: "POST",
        token,
        body: publishForm(m1.manifestText, m1.bytes),
      }),
  },
  {
    operation: "GET /v1/deployment",
    permission: "deployments:read",
    call: (token) => h.request("/v1/deployment", { token }),
  },
  {
    operation: "PUT /v1/deployment",
    permission: "deployments:write",
    call: (token, { versionId }) =>
      h.request("/v1/deployment", {
        method: "PUT",
        token,
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ production: versionId }),
      }),
  },
  ...["/v1/audit", "/v1/audit/verify", "/v1/audit/export"].map(
    (path): RouteCase => ({
      operation: `GET ${path}`,
      permission: "audit:read",
      call: (token) => h.request(path, { token }),
    }),
  ),
];

/** Permissions no route uses yet; a new route naming one must join ROUTES above. */
const WITHOUT_ROUTE: Permission[] = [];

type Who = { kind: "user"; role: Role } | { kind: "client"; scopes: Scope[] };

const PRINCIPALS: Who[] = [
  ...ROLES.map((role) => ({ kind: "user" as const, role })),
  ...SCOPES.map((scope) => ({ kind: "client" as const, scopes: [scope] })),
  { kind: "client", scopes: [] },
  { kind: "client", scopes: [...SCOPES] },
];

const label = (who: Who) =>
  who.kind === "user" ? `user with role ${who.role}` : `client with scopes [${who.scopes.join(" ")}]`;

function expectedAllowed(who: Who, permission: Permission): boolean {
  const rule = PERMISSIONS[permission];
  if (who.kind === "user") return (rule.roles as readonly string[]).includes(who.role);
  return who.scopes.some((s) => (rule.scopes as readonly string[]).includes(s));
}

async function tokenOf(t: TestTenant, who: Who): Promise<string> {
  return who.kind === "user" ? t.tokenFor(who.role) : t.clientToken(who.scopes);
}

describe("role and scope matrix", () => {
  it("covers every authenticated operation in the OpenAPI document and every permission", async () => {
    const doc = (await (await h.request("/v1/openapi.json")).json()) as {
      paths: Record<string, Record<string, { security?: unknown[] }>>;
    };
    const secured = Object.entries(doc.paths).flatMap(([path, ops]) =>
      Object.entries(ops)
        .filter(([, op]) => (op.security ?? []).length > 0)
        .map(([method]) => `${method.toUpperCase()} ${path}`),
    );
    expect(secured.sort()).toEqual(ROUTES.map((r) => r.operation).sort());
    expect([...new Set([...ROUTES.map((r) => r.permission), ...WITHOUT_ROUTE])].sort()).toEqual(
      Object.keys(PERMISSIONS).sort(),
    );
  });

  for (const who of PRINCIPALS) {
    it(`enforces PERMISSIONS for a ${label(who)} on every route`, async () => {
      const t = await h.newTenant();
      const v = await t.publish(m1);
      await t.deploy(v.id);
      const token = await tokenOf(t, who);
      for (const route of ROUTES) {
        const res = await route.call(token, { versionId: v.id });
        const text = await res.text();
        const what = `${label(who)} → ${route.operation} (${route.permission}): ${res.status} ${text}`;
        if (expectedAllowed(who, route.permission)) {
          expect([401, 403], what).not.toContain(res.status);
          expect(res.status, what).toBeLessThan(300);
        } else {
          expect(res.status, what).toBe(403);
          const body = JSON.parse(text) as ErrorBody;
          expect(body.error.code, what).toBe(who.kind === "user" ? "FORBIDDEN" : "INSUFFICIENT_SCOPE");
          expect(body.error.message, what).toContain(route.permission);
        }
      }
    });
  }
});
