import { z } from "zod";

export const MAX_RECORDS = 1000;
export const MAX_STRING_LENGTH = 256;

/** The record field naming the customer (for sticky canaries): never a feature. */
export const CUSTOMER_ID_FIELD = "customerId";
/** Keys a record may not carry: JSON parses them as own properties, but they are unsafe as object keys. */
export const FORBIDDEN_RECORD_KEYS: ReadonlySet<string> = new Set(["__proto__", "constructor", "prototype"]);

/** Raw customer fields; the live model's manifest decides which fields and types are valid. */
export const recordSchema = z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()]));

/**
 * One raw record: any JSON object, passed on as the client sent it. An object schema would copy it key by
 * key, costing a one-record predict more than its JSON parse and dropping keys such as `__proto__` that
 * the encoder must see to refuse them; the live model's encoder checks every field itself.
 */
const rawRecordSchema = z
  .custom<Record<string, unknown>>(
    (value) => typeof value === "object" && value !== null && !Array.isArray(value),
    { message: "Invalid input: expected object" },
  )
  .meta({ type: "object", additionalProperties: {} });

export const predictRequestSchema = z
  .object({
    records: z.array(rawRecordSchema).min(1).max(MAX_RECORDS),
    explain: z.boolean().default(false),
    topReasons: z.number().int().min(1).max(20).default(3),
  })
  .meta({ id: "PredictRequest" });
export type PredictRequest = z.infer<typeof predictRequestSchema>;

export const reasonSchema = z.object({
  feature: z.string(),
  value: z.union([z.string(), z.number(), z.null()]),
  contribution: z.number().describe("Effect on the log-odds of churn relative to the average customer"),
});
export type Reason = z.infer<typeof reasonSchema>;

export const predictionSchema = z.object({
  predictionId: z.string(),
  customerId: z.string().optional(),
  probability: z.number().min(0).max(1),
  contact: z.boolean().describe("probability >= the model's business threshold"),
  riskBand: z.enum(["low", "medium", "high"]),
  reasons: z.array(reasonSchema).optional(),
  version: z.number().int().describe("Model version that scored this record"),
  variant: z.enum(["production", "canary"]).describe("Deployment variant that scored this record"),
});
export type Prediction = z.infer<typeof predictionSchema>;

export const servedModelSchema = z.object({
  name: z.string(),
  version: z.number().int(),
  versionId: z.string(),
  variant: z.enum(["production", "canary"]),
  threshold: z.number(),
});

export const predictResponseSchema = z
  .object({
    predictions: z.array(predictionSchema),
    model: servedModelSchema.describe(
      "The model that scored the first record; each prediction names its own",
    ),
  })
  .meta({ id: "PredictResponse" });
export type PredictResponse = z.infer<typeof predictResponseSchema>;

export const healthResponseSchema = z
  .object({ status: z.literal("ok"), service: z.string(), version: z.string() })
  .meta({ id: "Health" });
