import { z } from "zod";

const liveVersionSchema = z.object({ versionId: z.string(), version: z.number() });

/**
 * Where the serving production model came from: the deployment, or, while the deployed version cannot be
 * loaded (missing or corrupt in the edge store), the tenant's last known good model.
 */
export const SERVED_BY = ["deployment", "last-known-good"] as const;
export type ServedBy = (typeof SERVED_BY)[number];

/** `GET /v1/models/live`: what serves the caller's tenant now, on the edge that answers. */
export const liveModelSchema = z
  .object({
    name: z.string(),
    revision: z.number(),
    production: liveVersionSchema.describe("The version that scores production traffic now"),
    servedBy: z
      .enum(SERVED_BY)
      .describe(
        "`last-known-good` while the deployed version cannot be loaded and an earlier one keeps serving",
      ),
    deployed: liveVersionSchema.describe(
      "The production version the deployment names; differs from `production` only under `last-known-good`",
    ),
    canary: liveVersionSchema.extend({ weight: z.number() }).nullable(),
    shadows: z.array(liveVersionSchema),
    threshold: z.number(),
    features: z.array(z.object({ name: z.string(), type: z.string(), required: z.boolean() })),
  })
  .meta({ id: "LiveModel" });
export type LiveModel = z.infer<typeof liveModelSchema>;
