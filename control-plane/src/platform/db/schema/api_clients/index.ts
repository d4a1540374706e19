import { index, integer, real, sqliteTable, text } from "drizzle-orm/sqlite-core";
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
    /** The secret replaced by the last rotation keeps working until `previous_secret_expires_at`. */
    previousSecretHash: text("previous_secret_hash"),
    previousSecretExpiresAt: timestampMs("previous_secret_expires_at"),
    /** Space-separated OAuth2 scopes. */
    scopes: text("scopes").notNull(),
    /** The client's own token bucket at the edge; null means only the tenant's limit applies. */
    ratePerSecond: real("rate_per_second"),
    rateBurst: integer("rate_burst"),
    /** The client's own monthly prediction quota (UTC months); null means only the tenant's applies. */
    monthlyPredictionQuota: integer("monthly_prediction_quota"),
    revokedAt: timestampMs("revoked_at"),
    createdAt: createdAt(),
  },
  (t) => [index("api_clients_tenant_idx").on(t.tenantId), index("api_clients_revoked_idx").on(t.revokedAt)],
);
export type ApiClientRow = typeof apiClients.$inferSelect;
