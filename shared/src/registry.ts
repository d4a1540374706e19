import { z } from "zod";
import { manifestSchema } from "./manifest.ts";

export const modelVersionSchema = z
  .object({
    id: z.string(),
    modelId: z.string(),
    name: z.string(),
    version: z.number().int().positive(),
    sha256: z.string(),
    bytes: z.number().int(),
    manifest: manifestSchema,
    publishedBy: z.string(),
    createdAt: z.string(),
    hasReport: z
      .boolean()
      .describe(
        "Whether the trainer's report.html was published with the version: GET /v1/models/{name}/versions/{version}/report",
      ),
  })
  .meta({ id: "ModelVersion" });
export type ModelVersion = z.infer<typeof modelVersionSchema>;

/** The largest report.html a version may carry; the trainer's reports are a few hundred kilobytes. */
export const MAX_REPORT_BYTES = 5 * 1024 * 1024;

export const publishResponseSchema = z
  .object({ created: z.boolean(), version: modelVersionSchema })
  .meta({ id: "PublishResponse" });

export const canarySchema = z.object({ versionId: z.string(), weight: z.number().int().min(0).max(100) });

export const deploymentRequestSchema = z
  .object({
    production: z.string().describe("Model version id to serve"),
    canary: canarySchema.nullable().optional(),
    shadows: z.array(z.string()).max(3).default([]),
    reason: z.string().max(500).optional(),
  })
  .meta({ id: "DeploymentRequest" });
export type DeploymentRequest = z.infer<typeof deploymentRequestSchema>;

/**
 * How the edge treats a tenant's records, published with the deployment pointer. A tenant-wide setting, not
 * a deployment's: a new model version must not silently change what its clients may send.
 */
export const predictSettingsSchema = z
  .object({
    allowUnknownFields: z
      .boolean()
      .describe(
        "Ignore record fields the live model does not know instead of refusing the request with 400 (default false)",
      ),
  })
  .meta({ id: "PredictSettings" });
export type PredictSettings = z.infer<typeof predictSettingsSchema>;

const deploymentVersionRefSchema = z.object({ versionId: z.string(), name: z.string(), version: z.number() });

export const deploymentEdgeStatusSchema = z.object({
  confirmed: z.boolean().describe("True once an edge isolate has served this revision (or a later one)"),
  revision: z.number().int().nullable().describe("Latest revision the edge reports serving"),
  servedAt: z.string().nullable(),
});
export type DeploymentEdgeStatus = z.infer<typeof deploymentEdgeStatusSchema>;

export const deploymentSchema = z
  .object({
    tenantId: z.string(),
    revision: z.number().int(),
    production: deploymentVersionRefSchema,
    canary: deploymentVersionRefSchema.extend({ weight: z.number() }).nullable(),
    shadows: z.array(deploymentVersionRefSchema),
    updatedAt: z.string(),
    updatedBy: z.string(),
    /** Whether the edge has served this revision yet; absent from older control planes. */
    edge: deploymentEdgeStatusSchema.optional(),
  })
  .meta({ id: "Deployment" });
export type Deployment = z.infer<typeof deploymentSchema>;
