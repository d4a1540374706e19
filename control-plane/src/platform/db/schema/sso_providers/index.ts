import { integer, sqliteTable, text } from "drizzle-orm/sqlite-core";
import { ROLES } from "#shared/identity.ts";
import { createdAt } from "../columns.ts";
import { tenants } from "../tenants/index.ts";

/**
 * A tenant's OpenID Connect provider for console sign-in. The client secret is kept as written (not
 * hashed) because the control plane must present it at the provider's token endpoint; it is never
 * returned after it is set and never logged. Email domains and role mappings are JSON, parsed through
 * `ssoSettingsRequestSchema`'s element schemas.
 */
export const ssoProviders = sqliteTable("sso_providers", {
  tenantId: text("tenant_id")
    .primaryKey()
    .references(() => tenants.id),
  enabled: integer("enabled", { mode: "boolean" }).notNull(),
  issuer: text("issuer").notNull(),
  clientId: text("client_id").notNull(),
  clientSecret: text("client_secret").notNull(),
  allowedEmailDomains: text("allowed_email_domains").notNull(),
  groupsClaim: text("groups_claim").notNull(),
  roleMappings: text("role_mappings").notNull(),
  defaultRole: text("default_role", { enum: ROLES }),
  createdAt: createdAt(),
  updatedAt: integer("updated_at").notNull(),
  updatedBy: text("updated_by").notNull(),
});
export type SsoProviderRow = typeof ssoProviders.$inferSelect;
