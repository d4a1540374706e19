import { integer, sqliteTable, text } from "drizzle-orm/sqlite-core";
import { tenants } from "../tenants/index.ts";

/** A tenant's monitoring settings (JSON, parsed through `monitoringSettingsSchema`); defaults when absent. */
export const monitoringSettings = sqliteTable("monitoring_settings", {
  tenantId: text("tenant_id")
    .primaryKey()
    .references(() => tenants.id),
  settings: text("settings").notNull(),
  updatedAt: integer("updated_at").notNull(),
  updatedBy: text("updated_by").notNull(),
});
export type MonitoringSettingsRow = typeof monitoringSettings.$inferSelect;
