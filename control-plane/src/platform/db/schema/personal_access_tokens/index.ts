import { index, integer, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";
import { createdAt, timestampMs } from "../columns.ts";
import { tenants } from "../tenants/index.ts";
import { users } from "../users/index.ts";

export const personalAccessTokens = sqliteTable(
  "personal_access_tokens",
  {
    id: text("id").primaryKey(),
    tenantId: text("tenant_id")
      .notNull()
      .references(() => tenants.id),
    userId: text("user_id")
      .notNull()
      .references(() => users.id),
    name: text("name").notNull(),
    // sha256 of the token: tokens carry 160 random bits, so a fast hash is safe and keeps lookups O(1).
    tokenHash: text("token_hash").notNull(),
    expiresAt: integer("expires_at").notNull(),
    revokedAt: timestampMs("revoked_at"),
    lastUsedAt: timestampMs("last_used_at"),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex("pat_hash_uq").on(t.tokenHash), index("pat_tenant_idx").on(t.tenantId)],
);
export type PersonalAccessTokenRow = typeof personalAccessTokens.$inferSelect;
