import { ChurnError, type FieldIssue, validationError } from "#shared/errors.ts";
import type { Role } from "#shared/identity.ts";
import {
  type SsoRoleMapping,
  type SsoSettings,
  type SsoSettingsRequest,
  ssoRoleMappingSchema,
} from "#shared/sso.ts";
import { toIso } from "#shared/time.ts";
import type { Db } from "../../platform/db/client.ts";
import type { SsoProviderRow } from "../../platform/db/schema/sso_providers/index.ts";
import { writeTransaction } from "../../platform/db/write-transaction.ts";
import { literalDestinationProblem } from "../alerts/destination.ts";
import { type AuditContext, appendAudit } from "../audit/audit.ts";
import type { Principal } from "../identity/permissions.ts";
import { assertMayActOnRole } from "../identity/role-grants.ts";
import { providerOf, saveProvider } from "./queries.ts";
import { samlProviderOf } from "./saml/queries.ts";

/** A tenant's provider as sign-in uses it, secret included; never leaves the control plane. */
export interface SsoProvider {
  tenantId: string;
  enabled: boolean;
  issuer: string;
  clientId: string;
  clientSecret: string;
  allowedEmailDomains: string[];
  groupsClaim: string;
  roleMappings: SsoRoleMapping[];
  defaultRole: Exclude<Role, "owner"> | null;
  updatedAt: number;
}

/** The console's callback, one for every tenant: the flow's cookie says whose sign-in it completes. */
export const ssoRedirectUri = (origin: string) => `${origin}/console/sso/callback`;

/** Where the console's SSO routes live, as the provider and people see them. */
export function ssoUrls(origin: string, tenantId: string): { redirectUri: string; signInUrl: string } {
  return {
    redirectUri: ssoRedirectUri(origin),
    signInUrl: `${origin}/console/sign-in?tenant=${encodeURIComponent(tenantId)}`,
  };
}

/** Whether the tenant's people can sign in through SSO now. */
export async function ssoEnabledFor(db: Db, tenantId: string): Promise<boolean> {
  return (await providerOf(db, tenantId))?.enabled ?? false;
}

function toProvider(row: SsoProviderRow): SsoProvider {
  return {
    tenantId: row.tenantId,
    enabled: row.enabled,
    issuer: row.issuer,
    clientId: row.clientId,
    clientSecret: row.clientSecret,
    allowedEmailDomains: (JSON.parse(row.allowedEmailDomains) as unknown[]).filter(
      (d): d is string => typeof d === "string",
    ),
    groupsClaim: row.groupsClaim,
    roleMappings: ssoRoleMappingSchema.array().parse(JSON.parse(row.roleMappings)),
    defaultRole: row.defaultRole === "owner" ? null : row.defaultRole,
    updatedAt: row.updatedAt,
  };
}

/** The settings as the API shows them: everything but the secret, which only reads as set. */
function toSettings(provider: SsoProvider, origin: string): SsoSettings {
  return {
    enabled: provider.enabled,
    issuer: provider.issuer,
    clientId: provider.clientId,
    clientSecretSet: true,
    allowedEmailDomains: provider.allowedEmailDomains,
    groupsClaim: provider.groupsClaim,
    roleMappings: provider.roleMappings,
    defaultRole: provider.defaultRole,
    ...ssoUrls(origin, provider.tenantId),
    updatedAt: toIso(provider.updatedAt),
  };
}

/** What the audit log records of a change: the settings without the secret. */
function auditView(p: SsoProvider | undefined) {
  if (!p) return null;
  const { clientSecret: _, tenantId: __, updatedAt: ___, ...rest } = p;
  return rest;
}

const notConfigured = () =>
  new ChurnError(
    "NOT_FOUND",
    "Single sign-on is not set up for this tenant: PUT /v1/settings/sso sets it up",
  );

export async function getSsoSettings(db: Db, tenantId: string, origin: string): Promise<SsoSettings> {
  const row = await providerOf(db, tenantId);
  if (!row) throw notConfigured();
  return toSettings(toProvider(row), origin);
}

/** The tenant's provider for a sign-in: a tenant without one, or with SSO switched off, is the same 404. */
export async function providerForSignIn(db: Db, tenantId: string): Promise<SsoProvider> {
  const row = await providerOf(db, tenantId);
  if (!row?.enabled) throw new ChurnError("NOT_FOUND", "Single sign-on is not set up for this tenant");
  return toProvider(row);
}

/** The roles a provider's settings can hand out. */
const rolesGranted = (p: { roleMappings: SsoRoleMapping[]; defaultRole: Role | null }): Role[] => [
  ...p.roleMappings.map((m) => m.role),
  ...(p.defaultRole ? [p.defaultRole] : []),
];

/**
 * Replaces the tenant's provider settings (audited, without the secret). Whoever changes them must be able
 * to grant every role the old and the new settings hand out, so an admin can neither map a group to owner
 * nor take an owner's mapping away. A new issuer or client id needs its secret again: the stored one is
 * never sent to a provider other than the one it was given for. A tenant signs in through one protocol:
 * OpenID Connect cannot be switched on while SAML is (409).
 */
export async function putSsoSettings(
  db: Db,
  audit: AuditContext,
  actor: Principal,
  input: SsoSettingsRequest,
  options: { origin: string; allowPrivateNetworks: boolean },
): Promise<SsoSettings> {
  const issues: FieldIssue[] = [];
  if (new URL(input.issuer).protocol === "http:" && !options.allowPrivateNetworks)
    issues.push({ path: "issuer", message: "the issuer must use https" });
  const destination = literalDestinationProblem(input.issuer, options.allowPrivateNetworks);
  if (destination) issues.push({ path: "issuer", message: destination });
  if (issues.length > 0) throw validationError(issues);
  for (const role of new Set(rolesGranted(input))) assertMayActOnRole(actor, role, "map a group to");

  const provider = await writeTransaction(db, async (tx) => {
    const beforeRow = await providerOf(tx, actor.tenantId);
    const before = beforeRow ? toProvider(beforeRow) : undefined;
    if (before)
      for (const role of new Set(rolesGranted(before)))
        assertMayActOnRole(actor, role, "change a mapping to");
    if (input.enabled && (await samlProviderOf(tx, actor.tenantId))?.enabled)
      throw new ChurnError(
        "CONFLICT",
        "SAML single sign-on is switched on for this tenant, and a tenant signs in through one protocol: " +
          "switch it off (PUT /v1/settings/saml with enabled: false) before switching OpenID Connect on",
      );
    const sameClient = before?.issuer === input.issuer && before.clientId === input.clientId;
    const clientSecret = input.clientSecret ?? (sameClient ? before.clientSecret : undefined);
    if (clientSecret === undefined) {
      throw validationError([
        {
          path: "clientSecret",
          message: before ? "required when the issuer or client id changes" : "required the first time",
        },
      ]);
    }
    const now = Date.now();
    const row: SsoProviderRow = {
      tenantId: actor.tenantId,
      enabled: input.enabled,
      issuer: input.issuer,
      clientId: input.clientId,
      clientSecret,
      allowedEmailDomains: JSON.stringify([...new Set(input.allowedEmailDomains)]),
      groupsClaim: input.groupsClaim,
      roleMappings: JSON.stringify(input.roleMappings),
      defaultRole: input.defaultRole,
      createdAt: beforeRow?.createdAt ?? now,
      updatedAt: now,
      updatedBy: audit.actor.id,
    };
    await saveProvider(tx, row);
    const after = toProvider(row);
    await appendAudit(tx, audit, {
      tenantId: actor.tenantId,
      action: "sso.update",
      targets: [{ type: "tenant", id: actor.tenantId }],
      details: {
        from: auditView(before),
        to: auditView(after),
        clientSecretChanged: before?.clientSecret !== clientSecret,
      },
    });
    return after;
  });
  return toSettings(provider, options.origin);
}
