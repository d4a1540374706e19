import { z } from "zod";
import { monthlyQuotaSchema, monthSchema } from "./kv.ts";

/** PUT /v1/settings/quota: the tenant's monthly prediction quota; null removes it. */
export const tenantQuotaRequestSchema = z
  .object({
    monthlyPredictionQuota: monthlyQuotaSchema
      .nullable()
      .describe("Scored records a calendar month (UTC) may hold across the tenant; null: no quota"),
  })
  .meta({ id: "TenantQuotaRequest" });
export type TenantQuotaRequest = z.infer<typeof tenantQuotaRequestSchema>;

export const usageQuerySchema = z.object({
  month: monthSchema.optional().describe("The calendar month (UTC) as YYYY-MM; default: the current one"),
});

const usedAgainstSchema = z.object({
  used: z.number().int().nonnegative().describe("Scored records counted by the edge this month"),
  limit: monthlyQuotaSchema.nullable().describe("The monthly quota as set now; null: none"),
});

/** GET /v1/usage: scored records of one month against the quotas. */
export const usageResponseSchema = z
  .object({
    month: monthSchema,
    /** The first instant of the next month, when the quotas start again from zero. */
    resetsAt: z.string(),
    tenant: usedAgainstSchema,
    clients: z.array(
      usedAgainstSchema.extend({
        id: z.string(),
        /** null: no client of this tenant has the id any more. */
        name: z.string().nullable(),
        revoked: z.boolean(),
      }),
    ),
    updatedAt: z
      .string()
      .nullable()
      .describe(
        "When the edge last wrote this month's counts (every few seconds while scoring); null: never",
      ),
  })
  .meta({ id: "Usage" });
export type Usage = z.infer<typeof usageResponseSchema>;
