import { index, integer, real, sqliteTable, text } from "drizzle-orm/sqlite-core";
import { createdAt } from "../columns.ts";
import { tenants } from "../tenants/index.ts";

/** One alert episode: fired once when a rule's condition started to hold, resolved once when it cleared. */
export const alerts = sqliteTable(
  "alerts",
  {
    id: text("id").primaryKey(),
    tenantId: text("tenant_id")
      .notNull()
      .references(() => tenants.id),
    kind: text("kind", { enum: ["drift_score", "estimated_auc_drop", "data_quality"] }).notNull(),
    state: text("state", { enum: ["firing", "resolved"] }).notNull(),
    value: real("value").notNull(),
    lastValue: real("last_value").notNull(),
    threshold: real("threshold").notNull(),
    versionId: text("version_id"),
    firedAt: integer("fired_at").notNull(),
    resolvedAt: integer("resolved_at"),
    createdAt: createdAt(),
  },
  (t) => [index("alerts_tenant_state_idx").on(t.tenantId, t.state, t.kind)],
);
export type AlertRow = typeof alerts.$inferSelect;
