import { sqliteTable, text } from "drizzle-orm/sqlite-core";
import { createdAt } from "../columns.ts";

export const tenants = sqliteTable("tenants", {
  id: text("id").primaryKey(),
  name: text("name").notNull(),
  createdAt: createdAt(),
});
export type TenantRow = typeof tenants.$inferSelect;
