import { index, integer, sqliteTable, text } from "drizzle-orm/sqlite-core";
import { createdAt } from "../columns.ts";
import { tenants } from "../tenants/index.ts";

/**
 * Where a tenant's alerts are sent. The secret is kept as written (not hashed) because the control plane
 * must sign with it; it is never returned after creation and never logged. Deleted webhooks keep their row
 * (`deleted_at`) so their delivery history stays readable.
 */
export const webhooks = sqliteTable(
  "webhooks",
  {
    id: text("id").primaryKey(),
    tenantId: text("tenant_id")
      .notNull()
      .references(() => tenants.id),
    url: text("url").notNull(),
    description: text("description"),
    secret: text("secret").notNull(),
    createdAt: createdAt(),
    deletedAt: integer("deleted_at"),
  },
  (t) => [index("webhooks_tenant_idx").on(t.tenantId)],
);
export type WebhookRow = typeof webhooks.$inferSelect;
