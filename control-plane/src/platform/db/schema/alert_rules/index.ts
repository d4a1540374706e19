import { integer, real, sqliteTable, text } from "drizzle-orm/sqlite-core";
import { tenants } from "../tenants/index.ts";

/** A tenant's alert thresholds; a null threshold switches that rule off. No row: the defaults apply. */
export const alertRules = sqliteTable("alert_rules", {
  tenantId: text("tenant_id")
    .primaryKey()
    .references(() => tenants.id),
  driftScore: real("drift_score"),
  estimatedAucDrop: real("estimated_auc_drop"),
  dataQualityRate: real("data_quality_rate"),
  updatedAt: integer("updated_at").notNull(),
});
export type AlertRulesRow = typeof alertRules.$inferSelect;
