import { index, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";
import { ROLES, type Role } from "#shared/identity.ts";
import { createdAt, timestampMs } from "../columns.ts";
import { tenants } from "../tenants/index.ts";

export { ROLES, type Role };

export const users = sqliteTable(
  "users",
  {
    id: text("id").primaryKey(),
    tenantId: text("tenant_id")
      .notNull()
      .references(() => tenants.id),
    email: text("email").notNull(),
    name: text("name").notNull(),
    role: text("role", { enum: ROLES }).notNull(),
    // An OIDC identity attaches here when SSO lands: (issuer, subject) is unique.
    oidcIssuer: text("oidc_issuer"),
    oidcSubject: text("oidc_subject"),
    createdAt: createdAt(),
    /** When the person redeemed their invitation (or signed in through SSO); null while invited. */
    activatedAt: timestampMs("activated_at"),
    /** Set when the user is offboarded: none of their tokens or sessions authenticate from then on. */
    disabledAt: timestampMs("disabled_at"),
    /** Set when the user is deleted: disabled, with the email and name replaced (audit rows keep the id). */
    deletedAt: timestampMs("deleted_at"),
  },
  (t) => [
    uniqueIndex("users_tenant_email_uq").on(t.tenantId, t.email),
    uniqueIndex("users_oidc_uq").on(t.oidcIssuer, t.oidcSubject),
    index("users_tenant_idx").on(t.tenantId),
  ],
);
export type UserRow = typeof users.$inferSelect;
