import { index, integer, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";
import { tenants } from "../tenants/index.ts";

/** Append-only: each row is a deployment that was live from `valid_from` until the next revision. */
export const deploymentHistory = sqliteTable(
  "deployment_history",
  {
    id: text("id").primaryKey(),
    tenantId: text("tenant_id")
      .notNull()
      .references(() => tenants.id),
    revision: integer("revision").notNull(),
    config: text("config").notNull(),
    reason: text("reason"),
    actor: text("actor").notNull(),
    validFrom: integer("valid_from").notNull(),
  },
  (t) => [
    uniqueIndex("deployment_history_tenant_rev_uq").on(t.tenantId, t.revision),
    index("deployment_history_tenant_time_idx").on(t.tenantId, t.validFrom),
  ],
);
export type DeploymentHistoryRow = typeof deploymentHistory.$inferSelect;
