import { z } from "zod";

const versionRefSchema = z.object({ versionId: z.string(), name: z.string(), version: z.number().int() });

/** One revision of a tenant's deployment and the interval it served. */
export const deploymentHistoryEntrySchema = z
  .object({
    revision: z.number().int(),
    production: versionRefSchema,
    canary: versionRefSchema.extend({ weight: z.number().int() }).nullable(),
    shadows: z.array(versionRefSchema),
    reason: z.string().nullable(),
    actor: z.string(),
    validFrom: z.string(),
    validUntil: z.string().nullable().describe("When the next revision replaced it; null while it serves"),
  })
  .meta({ id: "DeploymentHistoryEntry" });
export type DeploymentHistoryEntry = z.infer<typeof deploymentHistoryEntrySchema>;

export const deploymentHistoryPageSchema = z
  .object({
    entries: z.array(deploymentHistoryEntrySchema),
    nextCursor: z.number().int().nullable().describe("Pass as `cursor` for the next (older) page"),
  })
  .meta({ id: "DeploymentHistoryPage" });

export const rollbackRequestSchema = z
  .object({ reason: z.string().max(500).optional() })
  .meta({ id: "RollbackRequest" });
