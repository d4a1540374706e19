import { integer, primaryKey, sqliteTable, text } from "drizzle-orm/sqlite-core";
import { tenants } from "../tenants/index.ts";

/**
 * SAML message ids each tenant has accepted once and must never accept again: assertion ids (a captured
 * response replayed) and the ids of its own sign-in requests (one answer per request). Kept in the database
 * so every control-plane process sees them; a row is useless once `expires_at` passes, because the message
 * it names is then refused as expired anyway, and is pruned on the tenant's next sign-in.
 */
export const samlUsedIds = sqliteTable(
  "saml_used_ids",
  {
    tenantId: text("tenant_id")
      .notNull()
      .references(() => tenants.id),
    /** `assertion:<issuer>:<id>` or `request:<id>`, as the sign-in wrote it. */
    usedId: text("used_id").notNull(),
    expiresAt: integer("expires_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.usedId] })],
);
export type SamlUsedIdRow = typeof samlUsedIds.$inferSelect;
