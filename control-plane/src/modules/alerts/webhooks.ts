import { randomBytes } from "node:crypto";
import type { Alert, Webhook, WebhookDelivery, WebhookPayload } from "#shared/alerts.ts";
import { ChurnError } from "#shared/errors.ts";
import { newId } from "#shared/ids.ts";
import { SIGNATURE_HEADER, signBody } from "#shared/signature.ts";
import { epochSeconds, HOUR_MS, toIso } from "#shared/time.ts";
import type { Db, DbOrTx } from "../../platform/db/client.ts";
import type { WebhookDeliveryRow, WebhookRow } from "../../platform/db/schema/index.ts";
import { writeTransaction } from "../../platform/db/write-transaction.ts";
import type { Logger } from "../../platform/env.ts";
import { type AuditContext, appendAudit } from "../audit/audit.ts";
import { type Lookup, webhookDestinationProblem } from "./destination.ts";
import {
  dueDeliveries,
  insertDelivery,
  insertWebhook,
  liveWebhookRow,
  liveWebhooks,
  markWebhookDeleted,
  newestDeliveries,
  takeDelivery,
  updateDelivery,
  webhooksById,
} from "./queries/webhooks.ts";

/** Attempts per delivery before it is given up (about a day of backoff in all). */
export const MAX_DELIVERY_ATTEMPTS = 10;
const FIRST_RETRY_MS = 30_000;
const MAX_RETRY_MS = 4 * HOUR_MS;
const DELIVERY_TIMEOUT_MS = 10_000;
/** A delivery being sent is pushed this far ahead first, so another process does not send it meanwhile. */
const IN_FLIGHT_MS = 60_000;

/** Wait before attempt `attempts + 1`, after `attempts` failures: 30 s doubling, at most 4 h. */
export function retryDelayMs(attempts: number): number {
  return Math.min(FIRST_RETRY_MS * 2 ** Math.max(0, attempts - 1), MAX_RETRY_MS);
}

function toWebhook(row: WebhookRow): Webhook {
  return { id: row.id, url: row.url, description: row.description, createdAt: toIso(row.createdAt) };
}

export function toDelivery(row: WebhookDeliveryRow): WebhookDelivery {
  return {
    id: row.id,
    webhookId: row.webhookId,
    alertId: row.alertId,
    event: row.event,
    state: row.state,
    attempts: row.attempts,
    nextAttemptAt: row.state === "pending" && row.nextAttemptAt !== null ? toIso(row.nextAttemptAt) : null,
    lastStatus: row.lastStatus,
    lastError: row.lastError,
    createdAt: toIso(row.createdAt),
    deliveredAt: row.deliveredAt !== null ? toIso(row.deliveredAt) : null,
  };
}

export async function createWebhook(
  db: Db,
  audit: AuditContext,
  tenantId: string,
  input: { url: string; description?: string | undefined },
): Promise<Webhook & { secret: string }> {
  const row: WebhookRow = {
    id: newId("webhook"),
    tenantId,
    url: input.url,
    description: input.description ?? null,
    secret: `whsec_${randomBytes(32).toString("base64url")}`,
    createdAt: Date.now(),
    deletedAt: null,
  };
  await writeTransaction(db, async (tx) => {
    await insertWebhook(tx, row);
    await appendAudit(tx, audit, {
      tenantId,
      action: "webhook.create",
      targets: [{ type: "webhook", id: row.id }],
      details: { url: row.url },
    });
  });
  return { ...toWebhook(row), secret: row.secret };
}

export async function listWebhooks(db: Db, tenantId: string): Promise<Webhook[]> {
  return (await liveWebhooks(db, tenantId)).map(toWebhook);
}

async function liveWebhook(db: DbOrTx, tenantId: string, id: string): Promise<WebhookRow> {
  const row = await liveWebhookRow(db, tenantId, id);
  if (!row) throw new ChurnError("NOT_FOUND", `Webhook '${id}' not found`);
  return row;
}

/** Stops deliveries to the webhook at once: its pending ones fail with the reason. */
export async function deleteWebhook(
  db: Db,
  audit: AuditContext,
  tenantId: string,
  id: string,
): Promise<void> {
  await writeTransaction(db, async (tx) => {
    const row = await liveWebhook(tx, tenantId, id);
    const now = Date.now();
    await markWebhookDeleted(tx, row.id, now);
    await appendAudit(tx, audit, {
      tenantId,
      action: "webhook.delete",
      targets: [{ type: "webhook", id: row.id }],
      details: { url: row.url },
    });
  });
}

export async function listDeliveries(
  db: Db,
  tenantId: string,
  webhookId: string,
  limit = 100,
): Promise<WebhookDelivery[]> {
  await liveWebhook(db, tenantId, webhookId);
  return (await newestDeliveries(db, tenantId, webhookId, limit)).map(toDelivery);
}

/** Owes the alert event to every live webhook of the tenant. Call in the transaction that fires or resolves. */
export async function enqueueDeliveries(
  tx: DbOrTx,
  tenantId: string,
  event: "alert.fire" | "alert.resolve",
  alert: Alert,
  now: number,
): Promise<number> {
  const targets = await liveWebhooks(tx, tenantId);
  for (const target of targets) {
    const id = newId("webhookDelivery");
    const payload: WebhookPayload = { id, type: event, tenantId, alert, sentAt: toIso(now) };
    await insertDelivery(tx, {
      id,
      tenantId,
      webhookId: target.id,
      alertId: alert.id,
      event,
      body: JSON.stringify(payload),
      state: "pending",
      attempts: 0,
      nextAttemptAt: now,
      createdAt: now,
    });
  }
  return targets.length;
}

export interface DeliveryOutcome {
  sent: number;
  delivered: number;
  retried: number;
  failed: number;
}

/**
 * Sends every due delivery once, signed with its webhook's secret, and records the attempt: delivered on a
 * 2xx, otherwise retried with backoff until MAX_DELIVERY_ATTEMPTS, then failed. Each row is taken with a
 * conditional update first, so two control-plane processes do not send it at the same moment.
 */
export async function deliverDueWebhooks(
  db: Db,
  now: number,
  options: {
    fetch?: typeof fetch;
    log?: Logger;
    limit?: number;
    /** Deliver to private, loopback and link-local addresses too (WEBHOOK_ALLOW_PRIVATE_NETWORKS). */
    allowPrivateNetworks?: boolean;
    lookup?: Lookup;
  } = {},
): Promise<DeliveryOutcome> {
  const send = options.fetch ?? fetch;
  const outcome: DeliveryOutcome = { sent: 0, delivered: 0, retried: 0, failed: 0 };
  const due = await dueDeliveries(db, now, options.limit ?? 100);
  if (due.length === 0) return outcome;
  const hooks = await webhooksById(db, [...new Set(due.map((d) => d.webhookId))]);
  const hookById = new Map(hooks.map((h) => [h.id, h]));
  for (const delivery of due) {
    if (!(await takeDelivery(db, delivery, now + IN_FLIGHT_MS))) continue;
    const hook = hookById.get(delivery.webhookId);
    if (!hook || hook.deletedAt !== null) {
      await updateDelivery(db, delivery.id, {
        state: "failed",
        lastError: "webhook deleted",
        nextAttemptAt: null,
      });
      outcome.failed++;
      continue;
    }
    outcome.sent++;
    let status: number | null = null;
    let error: string | null = null;
    // Resolved again before every attempt: a name that was public at creation may point inside later.
    const refused = await webhookDestinationProblem(hook.url, {
      allowPrivateNetworks: options.allowPrivateNetworks ?? false,
      ...(options.lookup ? { lookup: options.lookup } : {}),
    });
    try {
      if (refused !== null) throw new Error(`destination refused: ${refused}`);
      const res = await send(hook.url, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          "user-agent": "churn-webhooks/1",
          "x-churn-delivery": delivery.id,
          [SIGNATURE_HEADER]: await signBody(hook.secret, delivery.body, epochSeconds(now)),
        },
        body: delivery.body,
        redirect: "manual",
        signal: AbortSignal.timeout(DELIVERY_TIMEOUT_MS),
      });
      status = res.status;
      await res.body?.cancel();
      if (status < 200 || status >= 300) error = `HTTP ${status}`;
    } catch (err) {
      error = err instanceof Error ? err.message.slice(0, 500) : String(err);
    }
    const attempts = delivery.attempts + 1;
    if (error === null) {
      await updateDelivery(db, delivery.id, {
        state: "delivered",
        attempts,
        lastStatus: status,
        lastError: null,
        deliveredAt: now,
      });
      outcome.delivered++;
      continue;
    }
    const giveUp = attempts >= MAX_DELIVERY_ATTEMPTS;
    await updateDelivery(db, delivery.id, {
      state: giveUp ? "failed" : "pending",
      attempts,
      lastStatus: status,
      lastError: error,
      nextAttemptAt: giveUp ? null : now + retryDelayMs(attempts),
    });
    if (giveUp) outcome.failed++;
    else outcome.retried++;
    // The URL may carry a token in its query string: log the webhook id, never the URL.
    options.log?.info({
      event: "webhook.delivery_failed",
      tenantId: delivery.tenantId,
      webhookId: hook.id,
      deliveryId: delivery.id,
      attempts,
      status,
      error,
      gaveUp: giveUp,
    });
  }
  return outcome;
}
