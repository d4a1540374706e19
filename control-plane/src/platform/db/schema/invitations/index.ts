import { index, integer, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";
import { createdAt, timestampMs } from "../columns.ts";
import { tenants } from "../tenants/index.ts";
import { users } from "../users/index.ts";

/**
 * One-time invitations: creating a user hands the creator an invitation code, never a credential; the
 * person redeems it for their first personal access token. Only the code's sha256 is stored.
 */
export const invitations = sqliteTable(
  "invitations",
  {
    id: text("id").primaryKey(),
    tenantId: text("tenant_id")
      .notNull()
      .references(() => tenants.id),
    userId: text("user_id")
      .notNull()
      .references(() => users.id),
    codeHash: text("code_hash").notNull(),
    expiresAt: integer("expires_at").notNull(),
    redeemedAt: timestampMs("redeemed_at"),
    /** Set when a newer invitation for the same user replaced this one, or the user was disabled. */
    withdrawnAt: timestampMs("withdrawn_at"),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex("invitations_code_uq").on(t.codeHash), index("invitations_user_idx").on(t.userId)],
);
export type InvitationRow = typeof invitations.$inferSelect;
