import { integer, real, sqliteTable, text } from "drizzle-orm/sqlite-core";
import { createdAt } from "../columns.ts";

export const tenants = sqliteTable("tenants", {
  id: text("id").primaryKey(),
  name: text("name").notNull(),
  /** The tenant-wide token bucket at the edge; null means the platform default. */
  ratePerSecond: real("rate_per_second"),
  rateBurst: integer("rate_burst"),
  /** Predictions a calendar month (UTC) may score across the tenant, metered at the edge; null means none. */
  monthlyPredictionQuota: integer("monthly_prediction_quota"),
  /** Whether the edge ignores record fields the live model does not know instead of refusing them. */
  allowUnknownFields: integer("allow_unknown_fields", { mode: "boolean" }).notNull().default(false),
  createdAt: createdAt(),
});
export type TenantRow = typeof tenants.$inferSelect;
