import { index, integer, primaryKey, real, sqliteTable, text } from "drizzle-orm/sqlite-core";

/**
 * Every scored record, with its outcome once feedback arrives: realized performance and the
 * customer-to-prediction join for feedback read from here. Kept for the platform's prediction retention.
 */
export const predictions = sqliteTable(
  "predictions",
  {
    tenantId: text("tenant_id").notNull(),
    predictionId: text("prediction_id").notNull(),
    customerId: text("customer_id"),
    versionId: text("version_id").notNull(),
    variant: text("variant", { enum: ["production", "canary"] }).notNull(),
    probability: real("probability").notNull(),
    contact: integer("contact", { mode: "boolean" }).notNull(),
    predictedAt: integer("predicted_at").notNull(),
    label: integer("label", { mode: "boolean" }),
    labeledAt: integer("labeled_at"),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.predictionId] }),
    index("predictions_tenant_customer_time_idx").on(t.tenantId, t.customerId, t.predictedAt),
    index("predictions_tenant_time_idx").on(t.tenantId, t.predictedAt),
  ],
);
export type PredictionRow = typeof predictions.$inferSelect;
