import { z } from "zod";

/**
 * A data-subject access export: everything the platform stores about one of the tenant's customers, found
 * by the `customerId` the tenant sent with its records and feedback, in pages a client follows with
 * `nextCursor` until it is null.
 */

/** The customer id exactly as the tenant sends it with records and feedback (as erasure takes it). */
export const customerIdSchema = z.string().min(1).max(128);

/** Entries per page, whatever their kind: a raw record can be a few kilobytes, so a page stays a few MB. */
export const CUSTOMER_EXPORT_DEFAULT_LIMIT = 200;
export const CUSTOMER_EXPORT_MAX_LIMIT = 1000;

/** The opaque cursor is a few ids long; anything longer was not made by the API. */
export const CUSTOMER_EXPORT_CURSOR_MAX_LENGTH = 512;

const recordSchema = z.record(z.string(), z.unknown());

export const exportedPredictionSchema = z.object({
  predictionId: z.string(),
  /** The model version that scored it, and its model's name and version number while the registry has it. */
  versionId: z.string(),
  model: z.string().nullable(),
  version: z.number().int().nullable(),
  variant: z.enum(["production", "canary"]),
  probability: z.number(),
  contact: z.boolean(),
  predictedAt: z.string(),
  /** The outcome feedback reported for this prediction; null until one arrives. */
  outcome: z.object({ churned: z.boolean(), labeledAt: z.string() }).nullable(),
  /** The record as the tenant sent it, when the tenant stores raw records and it is still kept. */
  rawRecord: z.object({ record: recordSchema, storedAt: z.string() }).nullable(),
});
export type ExportedPrediction = z.infer<typeof exportedPredictionSchema>;

/** An outcome that has not matched a prediction yet. */
export const exportedPendingOutcomeSchema = z.object({
  predictionId: z.string().nullable(),
  churned: z.boolean(),
  observedAt: z.string(),
  receivedAt: z.string(),
});
export type ExportedPendingOutcome = z.infer<typeof exportedPendingOutcomeSchema>;

/** A raw record naming the customer whose prediction is not among the customer's predictions any more. */
export const exportedRawRecordSchema = z.object({
  predictionId: z.string(),
  record: recordSchema,
  storedAt: z.string(),
});
export type ExportedRawRecord = z.infer<typeof exportedRawRecordSchema>;

export const customerExportSchema = z
  .object({
    /** The same on every page of one export; the `customer.export` audit entries name it. */
    exportId: z.string(),
    customerId: z.string(),
    exportedAt: z.string(),
    /** Oldest first. */
    predictions: z.array(exportedPredictionSchema),
    pendingOutcomes: z.array(exportedPendingOutcomeSchema),
    rawRecords: z.array(exportedRawRecordSchema),
    /** Pass as `cursor` for the next page; null on the last page. */
    nextCursor: z.string().nullable(),
  })
  .meta({ id: "CustomerExport" });
export type CustomerExport = z.infer<typeof customerExportSchema>;
