import { integer, sqliteTable, text } from "drizzle-orm/sqlite-core";
import { timestampMs } from "../columns.ts";

/**
 * Time-bound leases on work that must run in one control-plane process at a time (the scheduler): the
 * holder renews before `expires_at`; another process may take it once that has passed.
 */
export const leases = sqliteTable("leases", {
  name: text("name").primaryKey(),
  holder: text("holder").notNull(),
  expiresAt: timestampMs("expires_at").notNull(),
  acquiredAt: integer("acquired_at").notNull(),
});
export type LeaseRow = typeof leases.$inferSelect;
