import { z } from "zod";
import { MAX_RECORDS } from "./predict.ts";

/**
 * A data-subject erasure: everything the platform stores about one of the tenant's customers, found by
 * the `customerId` the tenant sent, or (for records sent without one) by the prediction ids it received.
 */
export const erasureRequestSchema = z
  .union([
    z.strictObject({ customerId: z.string().min(1).max(128) }),
    z.strictObject({ predictionIds: z.array(z.string().min(1).max(64)).min(1).max(MAX_RECORDS) }),
  ])
  .meta({ id: "ErasureRequest" });
export type ErasureRequest = z.infer<typeof erasureRequestSchema>;

export const erasureResultSchema = z
  .object({
    erasureId: z.string(),
    erasedAt: z.string(),
    /** Rows deleted per store; the audit entry repeats these counts, never the customer's id. */
    deleted: z.object({
      predictions: z.number().int(),
      rawRecords: z.number().int(),
      pendingFeedback: z.number().int(),
    }),
  })
  .meta({ id: "ErasureResult" });
export type ErasureResult = z.infer<typeof erasureResultSchema>;
