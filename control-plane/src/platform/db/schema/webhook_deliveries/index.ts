import { index, integer, sqliteTable, text } from "drizzle-orm/sqlite-core";
import { createdAt } from "../columns.ts";
import { tenants } from "../tenants/index.ts";
import { webhooks } from "../webhooks/index.ts";

/**
 * One alert event owed to one webhook. Written in the transaction that fires or resolves the alert, so a
 * restart never loses it; the scheduler sends due rows and records every attempt until one succeeds or
 * the attempts run out.
 */
export const webhookDeliveries = sqliteTable(
  "webhook_deliveries",
  {
    id: text("id").primaryKey(),
    tenantId: text("tenant_id")
      .notNull()
      .references(() => tenants.id),
    webhookId: text("webhook_id")
      .notNull()
      .references(() => webhooks.id),
    alertId: text("alert_id").notNull(),
    event: text("event", { enum: ["alert.fire", "alert.resolve"] }).notNull(),
    /** The exact JSON sent (and signed) on every attempt. */
    body: text("body").notNull(),
    state: text("state", { enum: ["pending", "delivered", "failed"] }).notNull(),
    attempts: integer("attempts").notNull().default(0),
    nextAttemptAt: integer("next_attempt_at"),
    lastStatus: integer("last_status"),
    lastError: text("last_error"),
    createdAt: createdAt(),
    deliveredAt: integer("delivered_at"),
  },
  (t) => [
    index("webhook_deliveries_due_idx").on(t.state, t.nextAttemptAt),
    index("webhook_deliveries_webhook_idx").on(t.webhookId),
  ],
);
export type WebhookDeliveryRow = typeof webhookDeliveries.$inferSelect;
