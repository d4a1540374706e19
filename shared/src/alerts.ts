import { z } from "zod";

/**
 * Alert rules, alerts and signed webhooks. A rule is a threshold on one number of the tenant's monitoring
 * snapshot; an alert is one episode of a rule's condition holding: it fires once when the condition
 * starts and resolves once when it clears, however many evaluations happen in between.
 */

export const ALERT_KINDS = ["drift_score", "estimated_auc_drop", "data_quality"] as const;
export const alertKindSchema = z.enum(ALERT_KINDS);
export type AlertKind = z.infer<typeof alertKindSchema>;

/** Each threshold is `null` to switch that rule off. */
export const alertRulesSchema = z
  .object({
    /** Fires when the importance-weighted PSI of the live version reaches this. */
    driftScore: z.number().positive().max(10).nullable().default(0.25),
    /** Fires when the training AUC minus the estimated (label-free) AUC reaches this. */
    estimatedAucDrop: z.number().positive().max(1).nullable().default(0.05),
    /** Fires when the worst data-quality rate (schema violations, out-of-range, unseen categories) reaches this. */
    dataQualityRate: z.number().positive().max(1).nullable().default(0.05),
  })
  .meta({ id: "AlertRules" });
export type AlertRules = z.infer<typeof alertRulesSchema>;

export const alertRulesResponseSchema = alertRulesSchema
  .extend({ updatedAt: z.string().nullable() })
  .meta({ id: "AlertRulesResponse" });

export const alertSchema = z
  .object({
    id: z.string(),
    kind: alertKindSchema,
    state: z.enum(["firing", "resolved"]),
    /** The value that fired the alert, and the latest value seen while it fired. */
    value: z.number(),
    lastValue: z.number(),
    threshold: z.number(),
    versionId: z.string().nullable(),
    firedAt: z.string(),
    resolvedAt: z.string().nullable(),
  })
  .meta({ id: "Alert" });
export type Alert = z.infer<typeof alertSchema>;

export const alertListSchema = z.object({ alerts: z.array(alertSchema) }).meta({ id: "AlertList" });

export const webhookCreateRequestSchema = z
  .object({
    url: z
      .url({ protocol: /^https?$/ })
      .max(2000)
      .describe("Receives a signed POST per alert firing and resolving"),
    description: z.string().max(200).optional(),
  })
  .meta({ id: "WebhookCreateRequest" });

export const webhookSchema = z
  .object({
    id: z.string(),
    url: z
      .string()
      .describe(
        "The receiving URL, in full only for principals who may manage webhooks (monitoring:write); " +
          "for everyone else its scheme and host with the rest elided (`https://hooks.example.com/…`), " +
          "since the path, query or user-info often carry the receiver's token",
      ),
    description: z.string().nullable(),
    createdAt: z.string(),
  })
  .meta({ id: "Webhook" });
export type Webhook = z.infer<typeof webhookSchema>;

export const webhookCreatedSchema = webhookSchema
  .extend({
    secret: z.string().describe("Signs every delivery; shown only in this response"),
  })
  .meta({ id: "WebhookCreated" });

export const webhookListSchema = z.object({ webhooks: z.array(webhookSchema) }).meta({ id: "WebhookList" });

export const webhookDeliverySchema = z
  .object({
    id: z.string(),
    webhookId: z.string(),
    alertId: z.string(),
    event: z.enum(["alert.fire", "alert.resolve"]),
    state: z.enum(["pending", "delivered", "failed"]),
    attempts: z.number().int(),
    nextAttemptAt: z.string().nullable(),
    lastStatus: z.number().int().nullable(),
    lastError: z.string().nullable(),
    createdAt: z.string(),
    deliveredAt: z.string().nullable(),
  })
  .meta({ id: "WebhookDelivery" });
export type WebhookDelivery = z.infer<typeof webhookDeliverySchema>;

export const webhookDeliveryListSchema = z
  .object({ deliveries: z.array(webhookDeliverySchema) })
  .meta({ id: "WebhookDeliveryList" });

/** The body of a webhook delivery, signed in `x-churn-signature` (see shared/src/signature.ts). */
export const webhookPayloadSchema = z.object({
  id: z.string().describe("The delivery id: the same on every retry, so receivers can drop repeats"),
  type: z.enum(["alert.fire", "alert.resolve"]),
  tenantId: z.string(),
  alert: alertSchema,
  sentAt: z.string(),
});
export type WebhookPayload = z.infer<typeof webhookPayloadSchema>;
