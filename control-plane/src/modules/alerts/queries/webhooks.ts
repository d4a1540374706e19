import { and, asc, desc, eq, inArray, isNull, lte } from "drizzle-orm";
import type { DbOrTx } from "../../../platform/db/client.ts";
import {
  type WebhookDeliveryRow,
  type WebhookRow,
  webhookDeliveries,
  webhooks,
} from "../../../platform/db/schema/index.ts";

/** Webhooks (soft-deleted) and the deliveries owed to them. */

export async function insertWebhook(tx: DbOrTx, row: WebhookRow): Promise<void> {
  await tx.insert(webhooks).values(row);
}

export function liveWebhooks(db: DbOrTx, tenantId: string): Promise<WebhookRow[]> {
  return db
    .select()
    .from(webhooks)
    .where(and(eq(webhooks.tenantId, tenantId), isNull(webhooks.deletedAt)))
    .orderBy(asc(webhooks.createdAt), asc(webhooks.id));
}

export async function liveWebhookRow(
  db: DbOrTx,
  tenantId: string,
  id: string,
): Promise<WebhookRow | undefined> {
  const [row] = await db
    .select()
    .from(webhooks)
    .where(and(eq(webhooks.id, id), eq(webhooks.tenantId, tenantId), isNull(webhooks.deletedAt)))
    .limit(1);
  return row;
}

/** Marks the webhook deleted and fails its pending deliveries with the reason. */
export async function markWebhookDeleted(tx: DbOrTx, id: string, at: number): Promise<void> {
  await tx.update(webhooks).set({ deletedAt: at }).where(eq(webhooks.id, id));
  await tx
    .update(webhookDeliveries)
    .set({ state: "failed", lastError: "webhook deleted", nextAttemptAt: null })
    .where(and(eq(webhookDeliveries.webhookId, id), eq(webhookDeliveries.state, "pending")));
}

export function newestDeliveries(
  db: DbOrTx,
  tenantId: string,
  webhookId: string,
  limit: number,
): Promise<WebhookDeliveryRow[]> {
  return db
    .select()
    .from(webhookDeliveries)
    .where(and(eq(webhookDeliveries.tenantId, tenantId), eq(webhookDeliveries.webhookId, webhookId)))
    .orderBy(desc(webhookDeliveries.createdAt), desc(webhookDeliveries.id))
    .limit(limit);
}

export async function insertDelivery(tx: DbOrTx, row: typeof webhookDeliveries.$inferInsert): Promise<void> {
  await tx.insert(webhookDeliveries).values(row);
}

/** Pending deliveries whose next attempt is due, oldest first (all tenants: the scheduler's work). */
export function dueDeliveries(db: DbOrTx, now: number, limit: number): Promise<WebhookDeliveryRow[]> {
  return db
    .select()
    .from(webhookDeliveries)
    .where(and(eq(webhookDeliveries.state, "pending"), lte(webhookDeliveries.nextAttemptAt, now)))
    .orderBy(asc(webhookDeliveries.nextAttemptAt))
    .limit(limit);
}

export function webhooksById(db: DbOrTx, ids: string[]): Promise<WebhookRow[]> {
  return db.select().from(webhooks).where(inArray(webhooks.id, ids));
}

/**
 * Takes a due delivery for one attempt by moving its next attempt to `until`, only if nobody else took it
 * since it was read (same state and next-attempt time). Says whether it was taken.
 */
export async function takeDelivery(
  db: DbOrTx,
  delivery: WebhookDeliveryRow,
  until: number,
): Promise<boolean> {
  const taken = await db
    .update(webhookDeliveries)
    .set({ nextAttemptAt: until })
    .where(
      and(
        eq(webhookDeliveries.id, delivery.id),
        eq(webhookDeliveries.state, "pending"),
        eq(webhookDeliveries.nextAttemptAt, delivery.nextAttemptAt!),
      ),
    )
    .returning({ id: webhookDeliveries.id });
  return taken.length > 0;
}

export async function updateDelivery(
  db: DbOrTx,
  id: string,
  fields: Partial<Omit<WebhookDeliveryRow, "id" | "tenantId" | "webhookId">>,
): Promise<void> {
  await db.update(webhookDeliveries).set(fields).where(eq(webhookDeliveries.id, id));
}
