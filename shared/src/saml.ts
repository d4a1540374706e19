import { z } from "zod";
import { emailDomainSchema, refineUniqueGroups, roleMappingFields, roleMappingRequestFields } from "./sso.ts";

/**
 * Single sign-on through a tenant's SAML 2.0 identity provider. The settings name the provider (its entity
 * id, its single sign-on URL and the certificates whose keys sign its responses), who may come in (email
 * domains) and which role each group the provider asserts grants. A tenant has OpenID Connect or SAML
 * switched on, never both.
 */

/** At most this many certificates: the current one and the next during a key rollover, with room to spare. */
export const MAX_SAML_CERTIFICATES = 4;

const ssoUrlSchema = z
  .url({ protocol: /^https?$/ })
  .max(2048)
  .refine((value) => {
    // zod runs refinements after a failed check too: a value that is no URL is reported by `url` above.
    if (!URL.canParse(value)) return true;
    const url = new URL(value);
    return url.hash === "" && url.username === "" && url.password === "";
  }, "a single sign-on URL has no fragment or credentials")
  .describe(
    "The provider's SingleSignOnService location for the HTTP-Redirect binding, where people are sent with " +
      "the sign-in request (https; http only where the operator allows private networks)",
  );

export const samlSettingsRequestSchema = z
  .object({
    enabled: z.boolean().default(true).describe("false keeps the settings but refuses every SAML sign-in"),
    idpEntityId: z
      .string()
      .trim()
      .min(1)
      .max(1024)
      .describe("The provider's entity id, exactly as its metadata and the Issuer of its responses state it"),
    idpSsoUrl: ssoUrlSchema,
    idpCertificates: z
      .array(
        z
          .string()
          .trim()
          .min(1)
          .max(16_384)
          .describe(
            "One PEM certificate (-----BEGIN CERTIFICATE-----) holding an RSA key of 2048 bits or more",
          ),
      )
      .min(1)
      .max(MAX_SAML_CERTIFICATES)
      .describe(
        "The certificates whose keys may sign the provider's responses or assertions: one, or two during a " +
          "key rollover",
      ),
    allowedEmailDomains: z
      .array(emailDomainSchema)
      .max(50)
      .default([])
      .describe("Only people whose email is in one of these domains may sign in; empty: any"),
    emailAttribute: z
      .string()
      .trim()
      .min(1)
      .max(256)
      .default("email")
      .describe(
        "The assertion attribute (its Name) holding the person's email; without it, a NameID that is an " +
          "email address is used",
      ),
    groupsAttribute: z
      .string()
      .trim()
      .min(1)
      .max(256)
      .default("groups")
      .describe("The assertion attribute (its Name) listing the person's groups, one value per group"),
    ...roleMappingRequestFields,
  })
  .superRefine(refineUniqueGroups)
  .meta({ id: "SamlSettingsRequest" });
export type SamlSettingsRequest = z.infer<typeof samlSettingsRequestSchema>;

export const samlCertificateSchema = z
  .object({
    subject: z.string(),
    notBefore: z.string(),
    notAfter: z
      .string()
      .describe("Responses keep verifying after this date (the key is pinned); replace it before then"),
    sha256Fingerprint: z.string().describe("Colon-separated hex, as the provider's console shows it"),
  })
  .meta({ id: "SamlCertificate" });
export type SamlCertificate = z.infer<typeof samlCertificateSchema>;

export const samlSettingsSchema = z
  .object({
    enabled: z.boolean(),
    idpEntityId: z.string(),
    idpSsoUrl: z.string(),
    idpCertificates: z.array(z.string()).describe("The certificates as stored (PEM)"),
    certificates: z.array(samlCertificateSchema).describe("What each certificate in idpCertificates is"),
    allowedEmailDomains: z.array(z.string()),
    emailAttribute: z.string(),
    groupsAttribute: z.string(),
    ...roleMappingFields,
    spEntityId: z.string().describe("This tenant's service provider entity id: give it to the provider"),
    acsUrl: z
      .string()
      .describe("The assertion consumer service (HTTP-POST binding) to register at the provider"),
    metadataUrl: z.string().describe("The service provider metadata, for providers that import it"),
    signInUrl: z
      .string()
      .describe("The console's SSO sign-in link for this tenant, to share with its people"),
    updatedAt: z.string(),
  })
  .meta({ id: "SamlSettings" });
export type SamlSettings = z.infer<typeof samlSettingsSchema>;
