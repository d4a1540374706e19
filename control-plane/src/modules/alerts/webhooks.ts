import { randomBytes } from "node:crypto";
import { type Dispatcher, fetch } from "undici";
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
import { isAllowed, type Permission, type Principal } from "../identity/permissions.ts";
import { destinationRefusal, type Lookup, type Refusal, refusalIn } from "./destination.ts";
import { webhookDispatcher } from "./egress.ts";
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

/** Who may create and delete webhooks, and so who may read their URLs in full. */
export const MANAGE_WEBHOOKS = "monitoring:write" satisfies Permission;

/**
 * A webhook URL as everyone but its managers sees it, and as the audit log records it: scheme and host
 * only. Receivers often take their token in the path or query (or user-info), which makes the full URL a
 * credential: whoever holds it can post forged alerts to the receiver.
 */
export function redactWebhookUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.host}/…`;
  } catch {
    return "…";
  }
}

function toWebhook(row: WebhookRow, fullUrl: boolean): Webhook {
  return {
    id: row.id,
    url: fullUrl ? row.url : redactWebhookUrl(row.url),
    description: row.description,
    createdAt: toIso(row.createdAt),
  };
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
      details: { url: redactWebhookUrl(row.url) },
    });
  });
  // Only a manager of webhooks gets here (the route requires MANAGE_WEBHOOKS): the URL they just gave.
  return { ...toWebhook(row, true), secret: row.secret };
}

/** The tenant's live webhooks, with full URLs only for a viewer who may manage them. */
export async function listWebhooks(db: Db, viewer: Principal): Promise<Webhook[]> {
  const fullUrls = isAllowed(viewer, MANAGE_WEBHOOKS);
  return (await liveWebhooks(db, viewer.tenantId)).map((row) => toWebhook(row, fullUrls));
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
      details: { url: redactWebhookUrl(row.url) },
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

/** Where webhook requests may go: WEBHOOK_ALLOW_PRIVATE_NETWORKS and the resolver (injected in tests). */
interface Egress {
  allowPrivateNetworks: boolean;
  lookup?: Lookup;
}

/** One attempt: the receiver's status, or why nothing was delivered; `refusal` when it was never sent. */
interface Attempt {
  status: number | null;
  error: string | null;
  refusal: Refusal | null;
}

const refused = (refusal: Refusal): Attempt => ({
  status: null,
  error: `destination refused: ${refusal.reason}`,
  refusal,
});

/**
 * Sends one delivery. The early check spares a socket for a destination refused anyway (a name that was
 * public at creation may point inside later); what protects the network is the dispatcher, which checks
 * the addresses each connection actually opens to, so a name that changes its answer in between is
 * caught. A refusal carries no status and no details from any receiver.
 */
async function attemptDelivery(
  hook: WebhookRow,
  delivery: WebhookDeliveryRow,
  now: number,
  egress: Egress,
  dispatcher: Dispatcher,
): Promise<Attempt> {
  const early = await destinationRefusal(hook.url, egress);
  if (early !== null) return refused(early);
  try {
    const res = await fetch(hook.url, {
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
      dispatcher,
    });
    await res.body?.cancel();
    const ok = res.status >= 200 && res.status < 300;
    return { status: res.status, error: ok ? null : `HTTP ${res.status}`, refusal: null };
  } catch (err) {
    const refusal = refusalIn(err);
    if (refusal !== null) return refused(refusal);
    return {
      status: null,
      error: err instanceof Error ? err.message.slice(0, 500) : String(err),
      refusal: null,
    };
  }
}

/**
 * Sends every due delivery once, signed with its webhook's secret, and records the attempt: delivered on a
 * 2xx, otherwise retried with backoff until MAX_DELIVERY_ATTEMPTS, then failed. Each row is taken with a
 * conditional update first, so two control-plane processes do not send it at the same moment. Requests
 * leave only through `webhookDispatcher`; a refused destination is recorded as `destination refused:
 * <reason>` and retried like any failure (the reason never names the address a host resolved to).
 */
export async function deliverDueWebhooks(
  db: Db,
  now: number,
  options: {
    log?: Logger;
    limit?: number;
    /** Deliver to private, loopback and link-local addresses too (WEBHOOK_ALLOW_PRIVATE_NETWORKS). */
    allowPrivateNetworks?: boolean;
    /** Resolves webhook hosts (the system's resolver by default); tests play a name server with it. */
    lookup?: Lookup;
  } = {},
): Promise<DeliveryOutcome> {
  const outcome: DeliveryOutcome = { sent: 0, delivered: 0, retried: 0, failed: 0 };
  const due = await dueDeliveries(db, now, options.limit ?? 100);
  if (due.length === 0) return outcome;
  const hooks = await webhooksById(db, [...new Set(due.map((d) => d.webhookId))]);
  const hookById = new Map(hooks.map((h) => [h.id, h]));
  const egress: Egress = {
    allowPrivateNetworks: options.allowPrivateNetworks ?? false,
    ...(options.lookup ? { lookup: options.lookup } : {}),
  };
  const dispatcher = webhookDispatcher(egress);
  try {
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
      const { status, error, refusal } = await attemptDelivery(hook, delivery, now, egress, dispatcher);
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
      // The URL may carry a token in its query string: log the webhook id, never the URL. The refused
      // address is for the operator; the tenant's delivery record leaves it out.
      options.log?.info({
        event: "webhook.delivery_failed",
        tenantId: delivery.tenantId,
        webhookId: hook.id,
        deliveryId: delivery.id,
        attempts,
        status,
        error,
        ...(refusal?.address !== undefined ? { refusedAddress: refusal.address } : {}),
        gaveUp: giveUp,
      });
    }
  } finally {
    await dispatcher.destroy();
  }
  return outcome;
}
