import { integer, sqliteTable, text } from "drizzle-orm/sqlite-core";
import { ROLES } from "#shared/identity.ts";
import { createdAt } from "../columns.ts";
import { tenants } from "../tenants/index.ts";

/**
 * A tenant's SAML 2.0 identity provider for console sign-in. Nothing here is secret: the certificates are
 * public keys, pinned so that only the provider's own key can vouch for a person. Certificates, email
 * domains and role mappings are JSON, parsed through `samlSettingsRequestSchema`'s element schemas.
 */
export const samlProviders = sqliteTable("saml_providers", {
  tenantId: text("tenant_id")
    .primaryKey()
    .references(() => tenants.id),
  enabled: integer("enabled", { mode: "boolean" }).notNull(),
  idpEntityId: text("idp_entity_id").notNull(),
  idpSsoUrl: text("idp_sso_url").notNull(),
  /** JSON array of PEM certificates, normalised at write. */
  idpCertificates: text("idp_certificates").notNull(),
  allowedEmailDomains: text("allowed_email_domains").notNull(),
  emailAttribute: text("email_attribute").notNull(),
  groupsAttribute: text("groups_attribute").notNull(),
  roleMappings: text("role_mappings").notNull(),
  defaultRole: text("default_role", { enum: ROLES }),
  createdAt: createdAt(),
  createdBy: text("created_by").notNull(),
  updatedAt: integer("updated_at").notNull(),
  updatedBy: text("updated_by").notNull(),
});
export type SamlProviderRow = typeof samlProviders.$inferSelect;
