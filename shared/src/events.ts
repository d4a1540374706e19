import { z } from "zod";
import { sketchSchema } from "./monitoring.ts";
import { MAX_RECORDS } from "./predict.ts";

export const feedbackItemSchema = z
  .object({
    customerId: z.string().min(1).max(128).optional(),
    predictionId: z.string().min(1).max(64).optional(),
    churned: z.boolean(),
    observedAt: z.iso
      .datetime({ offset: true })
      .optional()
      .describe("When the outcome was observed; default now"),
  })
  .refine((f) => f.customerId !== undefined || f.predictionId !== undefined, {
    message: "each item needs a customerId or a predictionId",
  });

export const feedbackRequestSchema = z
  .object({ feedback: z.array(feedbackItemSchema).min(1).max(MAX_RECORDS) })
  .meta({ id: "FeedbackRequest" });
export type FeedbackRequest = z.infer<typeof feedbackRequestSchema>;

export const feedbackResponseSchema = z
  .object({ accepted: z.number().int(), eventId: z.string() })
  .meta({ id: "FeedbackResponse" });

/** What the edge puts on the events queue; `eventId` makes redelivery idempotent at the control plane. */
export const predictionEventSchema = z.object({
  type: z.literal("prediction"),
  eventId: z.string(),
  tenantId: z.string(),
  at: z.string(),
  versionId: z.string(),
  version: z.number().int(),
  variant: z.enum(["production", "canary"]),
  predictions: z.array(
    z.object({
      predictionId: z.string(),
      customerId: z.string().optional(),
      probability: z.number(),
      contact: z.boolean(),
    }),
  ),
  /** The scored records' mergeable aggregate on the model's drift reference; absent without a reference. */
  sketch: sketchSchema.optional(),
  /** The raw records, aligned with `predictions`; only for tenants that enabled raw-record storage. */
  records: z.array(z.record(z.string(), z.unknown())).optional(),
});

/** Records the edge refused (400) for the live model's schema: the schema-violation rate's numerator. */
export const rejectedEventSchema = z.object({
  type: z.literal("rejected"),
  eventId: z.string(),
  tenantId: z.string(),
  at: z.string(),
  versionId: z.string(),
  /** Records in the refused request. */
  records: z.number().int().nonnegative(),
  /** Field → number of per-field errors, for "which column broke". */
  fields: z.record(z.string(), z.number().int().nonnegative()),
});

export const feedbackEventSchema = z.object({
  type: z.literal("feedback"),
  eventId: z.string(),
  tenantId: z.string(),
  at: z.string(),
  feedback: z.array(
    z.object({
      customerId: z.string().optional(),
      predictionId: z.string().optional(),
      churned: z.boolean(),
      observedAt: z.string(),
    }),
  ),
});

export const edgeEventSchema = z.discriminatedUnion("type", [
  predictionEventSchema,
  feedbackEventSchema,
  rejectedEventSchema,
]);
export type EdgeEvent = z.infer<typeof edgeEventSchema>;
export type PredictionEvent = z.infer<typeof predictionEventSchema>;
export type FeedbackEvent = z.infer<typeof feedbackEventSchema>;
export type RejectedEvent = z.infer<typeof rejectedEventSchema>;

export const ingestRequestSchema = z
  .object({ events: z.array(edgeEventSchema).min(1).max(100) })
  .meta({ id: "IngestRequest" });
export const ingestResponseSchema = z
  .object({
    accepted: z.number().int(),
    duplicates: z.number().int(),
    /**
     * Present when the batch held items of customers (or predictions) erased at or after the time their
     * event was made: those scored records and feedback items were dropped, not stored.
     */
    erased: z.object({ predictions: z.number().int(), feedback: z.number().int() }).optional(),
  })
  .meta({ id: "IngestResponse" });
