import { integer, sqliteTable, text } from "drizzle-orm/sqlite-core";
import { tenants } from "../tenants/index.ts";

/** The current deployment per tenant; `revision` is the optimistic-concurrency version (ETag). */
export const deployments = sqliteTable("deployments", {
  tenantId: text("tenant_id")
    .primaryKey()
    .references(() => tenants.id),
  revision: integer("revision").notNull(),
  productionVersionId: text("production_version_id").notNull(),
  canaryVersionId: text("canary_version_id"),
  canaryWeight: integer("canary_weight"),
  shadowVersionIds: text("shadow_version_ids").notNull(),
  updatedAt: integer("updated_at").notNull(),
  updatedBy: text("updated_by").notNull(),
});
export type DeploymentRow = typeof deployments.$inferSelect;
