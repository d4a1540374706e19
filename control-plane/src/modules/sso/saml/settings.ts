import { ChurnError, type FieldIssue, validationError } from "#shared/errors.ts";
import type { Role } from "#shared/identity.ts";
import type { SamlSettings, SamlSettingsRequest } from "#shared/saml.ts";
import { type SsoRoleMapping, ssoRoleMappingSchema } from "#shared/sso.ts";
import { toIso } from "#shared/time.ts";
import type { Db } from "../../../platform/db/client.ts";
import type { SamlProviderRow } from "../../../platform/db/schema/saml_providers/index.ts";
import { writeTransaction } from "../../../platform/db/write-transaction.ts";
import { type AuditContext, appendAudit } from "../../audit/audit.ts";
import type { Principal } from "../../identity/permissions.ts";
import { assertMayActOnRole } from "../../identity/role-grants.ts";
import { providerOf as oidcProviderOf } from "../queries.ts";
import { certificateDetails, parseCertificate } from "./certificates.ts";
import { samlProviderOf, saveSamlProvider } from "./queries.ts";

/** A tenant's SAML identity provider as sign-in uses it. */
export interface SamlProvider {
  tenantId: string;
  enabled: boolean;
  idpEntityId: string;
  idpSsoUrl: string;
  /** PEM, normalised; every one was checked as an RSA certificate when it was set. */
  idpCertificates: string[];
  allowedEmailDomains: string[];
  emailAttribute: string;
  groupsAttribute: string;
  roleMappings: SsoRoleMapping[];
  defaultRole: Exclude<Role, "owner"> | null;
  updatedAt: number;
}

/**
 * Where this tenant's service provider lives, as the identity provider and people see it. The entity id is
 * the metadata URL (a common convention that makes it resolvable) and both it and the assertion consumer
 * service name the tenant, so a response issued for one tenant's sign-in names an audience and a
 * destination no other tenant accepts.
 */
export function samlUrls(origin: string, tenantId: string) {
  const tenant = encodeURIComponent(tenantId);
  const metadataUrl = `${origin}/v1/saml/${tenant}/metadata`;
  return {
    spEntityId: metadataUrl,
    acsUrl: `${origin}/console/saml/${tenant}/acs`,
    metadataUrl,
    signInUrl: `${origin}/console/sign-in?tenant=${tenant}`,
  };
}

const jsonStrings = (text: string): string[] =>
  (JSON.parse(text) as unknown[]).filter((d): d is string => typeof d === "string");

function toProvider(row: SamlProviderRow): SamlProvider {
  return {
    tenantId: row.tenantId,
    enabled: row.enabled,
    idpEntityId: row.idpEntityId,
    idpSsoUrl: row.idpSsoUrl,
    idpCertificates: jsonStrings(row.idpCertificates),
    allowedEmailDomains: jsonStrings(row.allowedEmailDomains),
    emailAttribute: row.emailAttribute,
    groupsAttribute: row.groupsAttribute,
    roleMappings: ssoRoleMappingSchema.array().parse(JSON.parse(row.roleMappings)),
    defaultRole: row.defaultRole === "owner" ? null : row.defaultRole,
    updatedAt: row.updatedAt,
  };
}

function toSettings(provider: SamlProvider, origin: string): SamlSettings {
  return {
    enabled: provider.enabled,
    idpEntityId: provider.idpEntityId,
    idpSsoUrl: provider.idpSsoUrl,
    idpCertificates: provider.idpCertificates,
    certificates: provider.idpCertificates.map(certificateDetails),
    allowedEmailDomains: provider.allowedEmailDomains,
    emailAttribute: provider.emailAttribute,
    groupsAttribute: provider.groupsAttribute,
    roleMappings: provider.roleMappings,
    defaultRole: provider.defaultRole,
    ...samlUrls(origin, provider.tenantId),
    updatedAt: toIso(provider.updatedAt),
  };
}

/** What the audit log records of a change: the certificates by fingerprint, which is what people compare. */
function auditView(p: SamlProvider | undefined) {
  if (!p) return null;
  const { tenantId: _, updatedAt: __, idpCertificates, ...rest } = p;
  return {
    ...rest,
    idpCertificates: idpCertificates.map((pem) => certificateDetails(pem).sha256Fingerprint),
  };
}

export async function getSamlSettings(db: Db, tenantId: string, origin: string): Promise<SamlSettings> {
  const row = await samlProviderOf(db, tenantId);
  if (!row)
    throw new ChurnError(
      "NOT_FOUND",
      "SAML single sign-on is not set up for this tenant: PUT /v1/settings/saml sets it up",
    );
  return toSettings(toProvider(row), origin);
}

/** The tenant's provider for a sign-in: a tenant without one, or with SAML switched off, is the same 404. */
export async function samlProviderForSignIn(db: Db, tenantId: string): Promise<SamlProvider> {
  const row = await samlProviderOf(db, tenantId);
  if (!row?.enabled) throw new ChurnError("NOT_FOUND", "Single sign-on is not set up for this tenant");
  return toProvider(row);
}

/** Whether the tenant's people can sign in through SAML now. */
export async function samlEnabledFor(db: Db, tenantId: string): Promise<boolean> {
  return (await samlProviderOf(db, tenantId))?.enabled ?? false;
}

const rolesGranted = (p: { roleMappings: SsoRoleMapping[]; defaultRole: Role | null }): Role[] => [
  ...p.roleMappings.map((m) => m.role),
  ...(p.defaultRole ? [p.defaultRole] : []),
];

/** The certificates normalised, or 400 naming each one that is not a usable signing certificate. */
function checkedCertificates(input: SamlSettingsRequest, issues: FieldIssue[]): string[] {
  const pems: string[] = [];
  input.idpCertificates.forEach((text, i) => {
    const parsed = parseCertificate(text);
    if ("problem" in parsed) issues.push({ path: `idpCertificates.${i}`, message: parsed.problem });
    else if (pems.includes(parsed.pem))
      issues.push({ path: `idpCertificates.${i}`, message: "the same certificate is listed twice" });
    else pems.push(parsed.pem);
  });
  return pems;
}

/**
 * Replaces the tenant's SAML settings (audited). As for OpenID Connect, whoever changes them must be able
 * to grant every role the old and the new settings hand out. A tenant signs in through one protocol: SAML
 * cannot be switched on while OpenID Connect is (409), and the reverse is refused the same way.
 */
export async function putSamlSettings(
  db: Db,
  audit: AuditContext,
  actor: Principal,
  input: SamlSettingsRequest,
  options: { origin: string; allowPrivateNetworks: boolean },
): Promise<SamlSettings> {
  const issues: FieldIssue[] = [];
  if (new URL(input.idpSsoUrl).protocol === "http:" && !options.allowPrivateNetworks)
    issues.push({ path: "idpSsoUrl", message: "the single sign-on URL must use https" });
  const certificates = checkedCertificates(input, issues);
  if (issues.length > 0) throw validationError(issues);
  for (const role of new Set(rolesGranted(input))) assertMayActOnRole(actor, role, "map a group to");

  const provider = await writeTransaction(db, async (tx) => {
    const beforeRow = await samlProviderOf(tx, actor.tenantId);
    const before = beforeRow ? toProvider(beforeRow) : undefined;
    if (before)
      for (const role of new Set(rolesGranted(before)))
        assertMayActOnRole(actor, role, "change a mapping to");
    if (input.enabled && (await oidcProviderOf(tx, actor.tenantId))?.enabled)
      throw new ChurnError(
        "CONFLICT",
        "OpenID Connect single sign-on is switched on for this tenant, and a tenant signs in through one " +
          "protocol: switch it off (PUT /v1/settings/sso with enabled: false) before switching SAML on",
      );
    const now = Date.now();
    const row: SamlProviderRow = {
      tenantId: actor.tenantId,
      enabled: input.enabled,
      idpEntityId: input.idpEntityId,
      idpSsoUrl: input.idpSsoUrl,
      idpCertificates: JSON.stringify(certificates),
      allowedEmailDomains: JSON.stringify([...new Set(input.allowedEmailDomains)]),
      emailAttribute: input.emailAttribute,
      groupsAttribute: input.groupsAttribute,
      roleMappings: JSON.stringify(input.roleMappings),
      defaultRole: input.defaultRole,
      createdAt: beforeRow?.createdAt ?? now,
      createdBy: beforeRow?.createdBy ?? audit.actor.id,
      updatedAt: now,
      updatedBy: audit.actor.id,
    };
    await saveSamlProvider(tx, row);
    const after = toProvider(row);
    await appendAudit(tx, audit, {
      tenantId: actor.tenantId,
      action: "saml.update",
      targets: [{ type: "tenant", id: actor.tenantId }],
      details: { from: auditView(before), to: auditView(after) },
    });
    return after;
  });
  return toSettings(provider, options.origin);
}
