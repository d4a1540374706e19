import { z } from "zod";
import { ROLES, roleSchema } from "./identity.ts";

/**
 * Single sign-on through a tenant's own OpenID Connect provider. The settings name the provider (issuer,
 * client), who may come in (verified email domains) and which role each group at the provider grants.
 */

/** A role a mapping may fall back on: never `owner`, which only an explicit group entry can grant. */
export const SSO_DEFAULT_ROLES = ROLES.filter((r) => r !== "owner") as Exclude<
  (typeof ROLES)[number],
  "owner"
>[];

const issuerSchema = z
  .url({ protocol: /^https?$/ })
  .max(512)
  .refine((value) => {
    // zod runs refinements after a failed check too: a value that is no URL is reported by `url` above.
    if (!URL.canParse(value)) return true;
    const url = new URL(value);
    return url.search === "" && url.hash === "" && url.username === "" && url.password === "";
  }, "an issuer has no query, fragment or credentials")
  .describe(
    "The provider's issuer identifier, exactly as its discovery document states it (https; " +
      "http only where the operator allows private networks)",
  );

/** A domain whose verified addresses may sign in; shared by the OpenID Connect and SAML settings. */
export const emailDomainSchema = z
  .string()
  .trim()
  .toLowerCase()
  .max(253)
  .regex(/^([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/, "expected a domain like example.com");

export const ssoRoleMappingSchema = z
  .object({
    group: z
      .string()
      .trim()
      .min(1)
      .max(256)
      .describe("A group name as the provider sends it in the groups claim"),
    role: roleSchema,
  })
  .meta({ id: "SsoRoleMapping" });
export type SsoRoleMapping = z.infer<typeof ssoRoleMappingSchema>;

/** Each group is mapped once: a second mapping of the same group could never apply. */
export function refineUniqueGroups(settings: { roleMappings: SsoRoleMapping[] }, ctx: z.RefinementCtx): void {
  const seen = new Set<string>();
  settings.roleMappings.forEach((mapping, i) => {
    if (seen.has(mapping.group))
      ctx.addIssue({ code: "custom", path: ["roleMappings", i, "group"], message: "group mapped twice" });
    seen.add(mapping.group);
  });
}

/** How groups become roles, as an OpenID Connect or SAML settings request gives it. */
export const roleMappingRequestFields = {
  roleMappings: z
    .array(ssoRoleMappingSchema)
    .max(100)
    .default([])
    .describe("Tried in order: the first group the person belongs to gives their role"),
  defaultRole: z
    .enum(SSO_DEFAULT_ROLES)
    .nullable()
    .default(null)
    .describe("The role of people in no mapped group; null refuses them. Never owner"),
};

/** How groups become roles, as the settings in force report it. */
export const roleMappingFields = {
  roleMappings: z.array(ssoRoleMappingSchema),
  defaultRole: z.enum(SSO_DEFAULT_ROLES).nullable(),
};

export const ssoSettingsRequestSchema = z
  .object({
    enabled: z.boolean().default(true).describe("false keeps the settings but refuses every SSO sign-in"),
    issuer: issuerSchema,
    clientId: z.string().trim().min(1).max(256),
    clientSecret: z
      .string()
      .min(1)
      .max(1024)
      .optional()
      .describe("Required the first time; omitted later, the stored secret is kept. Never returned"),
    allowedEmailDomains: z
      .array(emailDomainSchema)
      .max(50)
      .default([])
      .describe("Only people whose verified email is in one of these domains may sign in; empty: any"),
    groupsClaim: z
      .string()
      .trim()
      .min(1)
      .max(128)
      .default("groups")
      .describe(
        "The ID token or userinfo claim listing the person's groups (a dotted path reaches nested claims)",
      ),
    ...roleMappingRequestFields,
  })
  .superRefine(refineUniqueGroups)
  .meta({ id: "SsoSettingsRequest" });
export type SsoSettingsRequest = z.infer<typeof ssoSettingsRequestSchema>;

export const ssoSettingsSchema = z
  .object({
    enabled: z.boolean(),
    issuer: z.string(),
    clientId: z.string(),
    clientSecretSet: z.literal(true).describe("The secret is stored; it is never returned"),
    allowedEmailDomains: z.array(z.string()),
    groupsClaim: z.string(),
    ...roleMappingFields,
    redirectUri: z.string().describe("Register this as the client's redirect URI at the provider"),
    signInUrl: z
      .string()
      .describe("The console's SSO sign-in link for this tenant, to share with its people"),
    updatedAt: z.string(),
  })
  .meta({ id: "SsoSettings" });
export type SsoSettings = z.infer<typeof ssoSettingsSchema>;
