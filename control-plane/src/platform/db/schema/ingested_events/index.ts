import { index, integer, sqliteTable, text } from "drizzle-orm/sqlite-core";

/**
 * Events delivered by the edge's queue consumer, keyed by the event id the edge assigned: a redelivered
 * batch inserts nothing twice. Monitoring aggregates are computed from here.
 */
export const ingestedEvents = sqliteTable(
  "ingested_events",
  {
    eventId: text("event_id").primaryKey(),
    tenantId: text("tenant_id").notNull(),
    type: text("type", { enum: ["prediction", "feedback", "rejected"] }).notNull(),
    occurredAt: integer("occurred_at").notNull(),
    receivedAt: integer("received_at").notNull(),
    payload: text("payload").notNull(),
  },
  (t) => [index("ingested_events_tenant_time_idx").on(t.tenantId, t.occurredAt)],
);
export type IngestedEventRow = typeof ingestedEvents.$inferSelect;
