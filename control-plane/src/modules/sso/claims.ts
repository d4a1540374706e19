import type { Role } from "#shared/identity.ts";
import type { SsoRoleMapping } from "#shared/sso.ts";

/** What the control plane takes from a verified ID token (and userinfo) to decide who someone is. */
export interface ProviderIdentity {
  issuer: string;
  subject: string;
  /** Only an address the provider marks `email_verified: true`; null otherwise. */
  verifiedEmail: string | null;
  name: string | null;
  groups: string[];
}

/** A claim by name, or by dotted path into nested objects (`realm_access.roles`) when no claim has that name. */
function claimAt(claims: Record<string, unknown>, name: string): unknown {
  if (name in claims) return claims[name];
  let value: unknown = claims;
  for (const part of name.split(".")) {
    if (value === null || typeof value !== "object" || Array.isArray(value)) return undefined;
    value = (value as Record<string, unknown>)[part];
  }
  return value;
}

/** The groups claim as a list: an array of strings, or one string naming a single group. */
export function groupsIn(claims: Record<string, unknown>, claimName: string): string[] {
  const value = claimAt(claims, claimName);
  if (typeof value === "string") return value === "" ? [] : [value];
  if (Array.isArray(value)) return value.filter((g): g is string => typeof g === "string" && g !== "");
  return [];
}

/** An email address, trimmed and lower-cased; null for anything that is not one. */
export function normalisedEmail(value: unknown): string | null {
  if (typeof value !== "string") return null;
  const normalised = value.trim().toLowerCase();
  return /^[^@\s]+@[^@\s]+$/.test(normalised) && normalised.length <= 254 ? normalised : null;
}

/** The email, lower-cased, when and only when the provider says it verified it. */
export function verifiedEmailIn(claims: Record<string, unknown>): string | null {
  return claims["email_verified"] === true ? normalisedEmail(claims["email"]) : null;
}

export function nameIn(claims: Record<string, unknown>): string | null {
  const name = claims["name"] ?? claims["preferred_username"];
  return typeof name === "string" && name.trim() !== "" ? name.trim().slice(0, 128) : null;
}

/**
 * The role the person's groups grant: the first mapping (in the order the tenant listed them) whose group
 * they are in, else the default role, else null (refused). `owner` comes only from a mapping that names it.
 */
export function roleFor(
  groups: readonly string[],
  mappings: readonly SsoRoleMapping[],
  defaultRole: Exclude<Role, "owner"> | null,
): Role | null {
  const member = new Set(groups);
  return mappings.find((m) => member.has(m.group))?.role ?? defaultRole;
}

/** Whether the verified email may sign in: any, when no domains are listed; else its domain exactly. */
export function emailDomainAllowed(email: string | null, allowedDomains: readonly string[]): boolean {
  if (allowedDomains.length === 0) return true;
  if (email === null) return false;
  const domain = email.slice(email.lastIndexOf("@") + 1);
  return allowedDomains.includes(domain);
}
