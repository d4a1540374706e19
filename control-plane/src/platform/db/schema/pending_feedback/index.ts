import { index, integer, primaryKey, sqliteTable, text } from "drizzle-orm/sqlite-core";

/**
 * Feedback that matched no prediction when it arrived (the outcome came before its prediction event).
 * Each later ingest joins it to the predictions it brings; it expires after the label window.
 */
export const pendingFeedback = sqliteTable(
  "pending_feedback",
  {
    tenantId: text("tenant_id").notNull(),
    /** The feedback event's id and the item's position in it. */
    eventId: text("event_id").notNull(),
    position: integer("position").notNull(),
    customerId: text("customer_id"),
    predictionId: text("prediction_id"),
    churned: integer("churned", { mode: "boolean" }).notNull(),
    observedAt: integer("observed_at").notNull(),
    receivedAt: integer("received_at").notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.eventId, t.position] }),
    index("pending_feedback_tenant_prediction_idx").on(t.tenantId, t.predictionId),
    index("pending_feedback_tenant_customer_idx").on(t.tenantId, t.customerId),
    index("pending_feedback_received_idx").on(t.receivedAt),
  ],
);
export type PendingFeedbackRow = typeof pendingFeedback.$inferSelect;
