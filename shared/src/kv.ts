import { z } from "zod";

/**
 * Layout of the edge's KV namespace. Model bytes and manifests live under immutable version ids;
 * only the per-tenant deployment pointer changes, and it is written last.
 */
export const kvKeys = {
  jwks: () => "auth:jwks",
  /** `{ url }` of the control plane's ingest endpoint, published by the control plane at start-up. */
  controlPlane: () => "platform:control-plane",
  revokedClients: () => "auth:revoked-clients",
  deployment: (tenantId: string) => `tenant:${tenantId}:deployment`,
  /** Written by the edge when an isolate first serves a deployment revision: proof the rollout arrived. */
  served: (tenantId: string) => `tenant:${tenantId}:served`,
  /** Rate limits for the tenant and its API clients, set through the control plane. */
  limits: (tenantId: string) => `tenant:${tenantId}:limits`,
  /**
   * Scored records of one calendar month (UTC, `YYYY-MM`), tenant-wide and per API client: written by the
   * edge's quota meter every few seconds while the tenant is scoring, read by the control plane.
   */
  usage: (tenantId: string, month: string) => `tenant:${tenantId}:usage:${month}`,
  /** Per-tenant edge behaviour set through the control plane's monitoring settings. */
  edgeSettings: (tenantId: string) => `tenant:${tenantId}:edge-settings`,
  /**
   * The control plane's latest signed checkpoint of the tenant's audit chain (the platform chain's under
   * `tenant:platform:…`): kept here because it is outside the database. The edge never reads it.
   */
  auditCheckpoint: (tenantId: string) => `tenant:${tenantId}:audit-checkpoint`,
  modelBytes: (versionId: string) => `model:${versionId}:onnx`,
  modelManifest: (versionId: string) => `model:${versionId}:manifest`,
  modelExplainer: (versionId: string) => `model:${versionId}:explainer`,
} as const;

export const deployedVersionSchema = z.object({
  versionId: z.string(),
  version: z.number().int().positive(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
});
export type DeployedVersion = z.infer<typeof deployedVersionSchema>;

/** What the edge reads from `tenant:{id}:deployment`. */
export const edgeDeploymentSchema = z.object({
  tenantId: z.string(),
  revision: z.number().int().nonnegative(),
  production: deployedVersionSchema,
  canary: deployedVersionSchema.extend({ weight: z.number().int().min(0).max(100) }).optional(),
  shadows: z.array(deployedVersionSchema).default([]),
  /** The tenant's predict setting (PUT /v1/settings/predict), sent with every pointer the tenant gets. */
  allowUnknownFields: z.boolean().default(false),
  updatedAt: z.string(),
});
export type EdgeDeployment = z.infer<typeof edgeDeploymentSchema>;

/** What the edge writes to `tenant:{id}:served`: the latest revision an isolate has served successfully. */
export const servedDeploymentSchema = z.object({
  revision: z.number().int().nonnegative(),
  productionVersionId: z.string(),
  servedAt: z.string(),
});
export type ServedDeployment = z.infer<typeof servedDeploymentSchema>;

/** `auth:revoked-clients`: client id → revocation time (epoch seconds). Entries outlive any token they cover. */
export const revokedClientsSchema = z.object({ clients: z.record(z.string(), z.number()) });
export type RevokedClients = z.infer<typeof revokedClientsSchema>;

export const controlPlaneLocationSchema = z.object({ url: z.string().url() });

/** A token bucket: `ratePerSecond` refill, up to `burst` requests at once. */
export const rateLimitSchema = z.object({
  ratePerSecond: z.number().positive().max(100_000),
  burst: z.number().int().positive().max(1_000_000),
});
export type RateLimit = z.infer<typeof rateLimitSchema>;

/** Predictions (scored records) a calendar month (UTC) may hold; 0 refuses every prediction. */
export const monthlyQuotaSchema = z.number().int().min(0).max(1_000_000_000_000);

/** Monthly prediction quotas: the tenant's (null: none) and those clients' that have their own. */
export const predictionQuotasSchema = z.object({
  tenant: monthlyQuotaSchema.nullable(),
  clients: z.record(z.string(), monthlyQuotaSchema).default({}),
});
export type PredictionQuotas = z.infer<typeof predictionQuotasSchema>;

/** `tenant:{id}:limits`: applied at the edge per tenant and per API client (both must allow a request). */
export const tenantLimitsSchema = z.object({
  tenant: rateLimitSchema,
  clients: z.record(z.string(), rateLimitSchema).default({}),
  /** Absent when neither the tenant nor any live client has a quota: predictions are only counted. */
  quotas: predictionQuotasSchema.optional(),
});
export type TenantLimits = z.infer<typeof tenantLimitsSchema>;

/** Applied when a tenant has no limits published yet. */
export const DEFAULT_TENANT_LIMITS: TenantLimits = {
  tenant: { ratePerSecond: 1000, burst: 2000 },
  clients: {},
};

/** `tenant:{id}:edge-settings`: what the edge does beyond scoring, for one tenant. */
export const edgeTenantSettingsSchema = z.object({
  /** Attach the raw records to prediction events (the tenant enabled raw-record storage). */
  captureRecords: z.boolean().default(false),
});
export type EdgeTenantSettings = z.infer<typeof edgeTenantSettingsSchema>;

/** A calendar month in UTC, `YYYY-MM`: the period monthly quotas and usage are counted over. */
export const monthSchema = z.string().regex(/^\d{4}-(0[1-9]|1[0-2])$/, "expected a month as YYYY-MM");

/** `tenant:{id}:usage:{month}`: scored records counted by the edge's quota meter. */
export const usageRecordSchema = z.object({
  month: monthSchema,
  /** Every scored record of the tenant this month. */
  used: z.number().int().nonnegative(),
  /** The same, per API client that scored any. */
  clients: z.record(z.string(), z.number().int().nonnegative()).default({}),
  updatedAt: z.string(),
});
export type UsageRecord = z.infer<typeof usageRecordSchema>;
