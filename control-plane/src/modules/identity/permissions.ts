import type { Scope } from "#shared/scopes.ts";
import type { Role } from "../../platform/db/schema/users/index.ts";

/**
 * The one place that says who may do what. Users are granted by role, API clients by OAuth2 scope.
 * Routes name a permission; they never check roles or scopes themselves.
 */
export const PERMISSIONS = {
  "models:read": {
    roles: ["owner", "admin", "ml-engineer", "analyst"],
    scopes: ["models:read", "models:publish", "deployments:write"],
  },
  "models:publish": { roles: ["owner", "admin", "ml-engineer"], scopes: ["models:publish"] },
  "deployments:read": {
    roles: ["owner", "admin", "ml-engineer", "analyst"],
    scopes: ["models:read", "deployments:write"],
  },
  "deployments:write": { roles: ["owner", "admin", "ml-engineer"], scopes: ["deployments:write"] },
  "audit:read": { roles: ["owner", "auditor"], scopes: [] },
  /** Access reviews: who holds which role. Auditors see it too; API clients never manage people. */
  "users:read": { roles: ["owner", "admin", "auditor"], scopes: [] },
  "users:write": { roles: ["owner", "admin"], scopes: [] },
  /** Changing a role can grant ownership, so only owners may. */
  "users:roles": { roles: ["owner"], scopes: [] },
  /** Every person manages their own personal access tokens; a client is not a person. */
  "tokens:self": { roles: ["owner", "admin", "ml-engineer", "analyst", "auditor"], scopes: [] },
  "clients:read": { roles: ["owner", "admin", "auditor"], scopes: [] },
  "clients:write": { roles: ["owner", "admin"], scopes: [] },
  "settings:write": { roles: ["owner", "admin"], scopes: [] },
  "monitoring:read": {
    roles: ["owner", "admin", "ml-engineer", "analyst"],
    scopes: ["models:read", "deployments:write"],
  },
  /** Drift thresholds, alert rules, webhooks and the retraining policy. */
  "monitoring:write": { roles: ["owner", "admin"], scopes: [] },
  /** Erase what the platform stores about one of the tenant's customers (a data-subject request). */
  "customers:erase": { roles: ["owner", "admin"], scopes: [] },
  /** Read everything the platform stores about one of the tenant's customers (a data-subject access request). */
  "customers:export": { roles: ["owner", "admin"], scopes: [] },
  /** Ask for a retraining job, or approve/reject a candidate. */
  "retraining:write": { roles: ["owner", "admin", "ml-engineer"], scopes: [] },
  /** What `churn worker` holds: claim jobs, read their data, publish and report candidates. */
  "retraining:run": { roles: ["owner", "admin", "ml-engineer"], scopes: ["retraining:run"] },
} as const satisfies Record<string, { roles: readonly Role[]; scopes: readonly Scope[] }>;

export type Permission = keyof typeof PERMISSIONS;

export interface Principal {
  tenantId: string;
  kind: "user" | "client";
  id: string;
  role: Role | null;
  scopes: ReadonlySet<string>;
}

export function isAllowed(principal: Principal, permission: Permission): boolean {
  const rule = PERMISSIONS[permission];
  if (principal.kind === "user")
    return principal.role !== null && (rule.roles as readonly Role[]).includes(principal.role);
  return (rule.scopes as readonly string[]).some((s) => principal.scopes.has(s));
}

/** The permissions a role holds. */
export function permissionsOf(role: Role): Permission[] {
  return (Object.keys(PERMISSIONS) as Permission[]).filter((p) =>
    (PERMISSIONS[p].roles as readonly Role[]).includes(role),
  );
}

/**
 * The permissions `role` holds that `principal` lacks: granting a role (creating, inviting, re-roling) or
 * acting on someone who holds it (disabling, deleting, revoking their tokens) needs none missing, so
 * nobody hands out, or takes away, more power than they have.
 */
export function permissionsLackedFor(principal: Principal, role: Role): Permission[] {
  return permissionsOf(role).filter((p) => !isAllowed(principal, p));
}
