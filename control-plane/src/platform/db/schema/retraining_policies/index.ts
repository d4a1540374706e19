import { integer, sqliteTable, text } from "drizzle-orm/sqlite-core";
import { tenants } from "../tenants/index.ts";

/** A tenant's retraining policy (JSON, parsed with retrainingPolicySchema) and when the schedule last ran. */
export const retrainingPolicies = sqliteTable("retraining_policies", {
  tenantId: text("tenant_id")
    .primaryKey()
    .references(() => tenants.id),
  policy: text("policy").notNull(),
  lastScheduledAt: integer("last_scheduled_at"),
  updatedAt: integer("updated_at").notNull(),
});
export type RetrainingPolicyRow = typeof retrainingPolicies.$inferSelect;
