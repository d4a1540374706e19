import { index, sqliteTable, text } from "drizzle-orm/sqlite-core";
import { createdAt, timestampMs } from "../columns.ts";
import { tenants } from "../tenants/index.ts";

export const apiClients = sqliteTable(
  "api_clients",
  {
    id: text("id").primaryKey(),
    tenantId: text("tenant_id")
      .notNull()
      .references(() => tenants.id),
    name: text("name").notNull(),
    /** scrypt hash of the current secret, in `scrypt$N$r$p$salt$hash` form. */
    secretHash: text("secret_hash").notNull(),
    /** Space-separated OAuth2 scopes. */
    scopes: text("scopes").notNull(),
    revokedAt: timestampMs("revoked_at"),
    createdAt: createdAt(),
  },
  (t) => [index("api_clients_tenant_idx").on(t.tenantId)],
);
export type ApiClientRow = typeof apiClients.$inferSelect;
