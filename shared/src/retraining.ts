import { z } from "zod";
import { manifestSchema } from "./manifest.ts";

/**
 * Retraining: a per-tenant policy says when to retrain and on what; a job is one retraining run, leased to
 * one `churn worker` at a time; a candidate is the version a job produced, judged against production on a
 * common holdout (the champion/challenger gate), then canaried and promoted or rejected.
 */

const dataLocation = z
  .string()
  .min(1)
  .max(2000)
  .describe("A CSV path readable by the worker, or an http(s) URL");

export const retrainingPolicySchema = z
  .object({
    /** `alert`: a firing alert requests a job; `schedule`: every `everyHours`; `manual`: only on request. */
    trigger: z.enum(["manual", "alert", "schedule"]).default("manual"),
    everyHours: z
      .number()
      .int()
      .min(1)
      .max(24 * 90)
      .default(24),
    dataSource: dataLocation.nullable().default(null),
    /** A fixed evaluation set; without it the worker holds out a stratified fifth of the training data. */
    holdoutSource: dataLocation.nullable().default(null),
    target: z.string().min(1).max(200).default("Churn"),
    positive: z.string().min(1).max(200).default("Yes"),
    timeBudgetSeconds: z.number().int().min(1).max(3600).default(60),
    gate: z
      .object({
        /** `auc`: candidate AUC ≥ production AUC + margin; `log_loss`: candidate ≤ production − margin. */
        metric: z.enum(["auc", "log_loss"]).default("auc"),
        margin: z.number().min(0).max(1).default(0.005),
      })
      .prefault({}),
    canaryWeight: z.number().int().min(1).max(100).default(10),
    promotion: z
      .object({
        /** `auto`: promote after `minPredictions` canary predictions; `manual`: wait for approval. */
        mode: z.enum(["auto", "manual"]).default("auto"),
        minPredictions: z.number().int().min(1).max(10_000_000).default(1000),
        /** How far the canary's estimated AUC may sit below production's before it counts as worse. */
        tolerance: z.number().min(0).max(1).default(0.01),
      })
      .prefault({}),
    maxAttempts: z.number().int().min(1).max(20).default(3),
    leaseSeconds: z.number().int().min(10).max(86_400).default(600),
  })
  .meta({ id: "RetrainingPolicy" });
export type RetrainingPolicy = z.infer<typeof retrainingPolicySchema>;

export const retrainingPolicyResponseSchema = retrainingPolicySchema
  .extend({ updatedAt: z.string().nullable() })
  .meta({ id: "RetrainingPolicyResponse" });

export const JOB_STATES = ["queued", "running", "succeeded", "failed"] as const;

export const retrainingJobSchema = z
  .object({
    id: z.string(),
    state: z.enum(JOB_STATES),
    trigger: z.enum(["manual", "alert", "schedule"]),
    reason: z.string().nullable(),
    alertId: z.string().nullable(),
    attempts: z.number().int(),
    maxAttempts: z.number().int(),
    leaseExpiresAt: z.string().nullable(),
    worker: z.string().nullable(),
    failureReason: z.string().nullable(),
    candidateId: z.string().nullable(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .meta({ id: "RetrainingJob" });
export type RetrainingJob = z.infer<typeof retrainingJobSchema>;

export const retrainingJobListSchema = z
  .object({ jobs: z.array(retrainingJobSchema) })
  .meta({ id: "RetrainingJobList" });

export const retrainingRequestSchema = z
  .object({ reason: z.string().max(500).optional() })
  .meta({ id: "RetrainingRequest" });

/** What a worker gets when it claims a job: everything it needs to train and evaluate. */
export const retrainingClaimSchema = z
  .object({
    job: retrainingJobSchema,
    /** Proves the lease: heartbeats, completion and failure must present it. A re-claim issues a new one. */
    leaseToken: z.string(),
    leaseExpiresAt: z.string(),
    leaseSeconds: z.number().int(),
    policy: retrainingPolicySchema,
    /** The production version at claim time; its model is at /v1/retraining/jobs/{id}/production-model. */
    production: z
      .object({
        versionId: z.string(),
        name: z.string(),
        version: z.number().int(),
        manifest: manifestSchema,
      })
      .nullable(),
  })
  .meta({ id: "RetrainingClaim" });
export type RetrainingClaim = z.infer<typeof retrainingClaimSchema>;

export const claimRequestSchema = z
  .object({ worker: z.string().min(1).max(200).describe("A name for logs: host and process id") })
  .meta({ id: "RetrainingClaimRequest" });

export const leaseRequestSchema = z.object({ leaseToken: z.string().min(1).max(200) }).meta({ id: "Lease" });

export const heartbeatResponseSchema = z
  .object({ leaseExpiresAt: z.string() })
  .meta({ id: "RetrainingHeartbeat" });

export const failRequestSchema = leaseRequestSchema
  .extend({ reason: z.string().min(1).max(2000) })
  .meta({ id: "RetrainingFailRequest" });

export const holdoutMetricsSchema = z.object({ auc: z.number().min(0).max(1), logLoss: z.number().min(0) });
export type HoldoutScores = z.infer<typeof holdoutMetricsSchema>;

export const completeRequestSchema = leaseRequestSchema
  .extend({
    candidateVersionId: z.string().min(1).max(64),
    holdout: z.object({
      rows: z.number().int().min(1),
      positives: z.number().int().min(0),
      candidate: holdoutMetricsSchema,
      /** Null when the tenant had no production version at claim time. */
      production: holdoutMetricsSchema.nullable(),
    }),
  })
  .meta({ id: "RetrainingCompleteRequest" });
export type CompleteRequest = z.infer<typeof completeRequestSchema>;

export const CANDIDATE_STATES = ["rejected", "canary", "promoted", "rolled_back"] as const;

export const candidateSchema = z
  .object({
    id: z.string(),
    jobId: z.string(),
    versionId: z.string(),
    productionVersionId: z.string().nullable(),
    state: z.enum(CANDIDATE_STATES),
    gate: z.object({ metric: z.enum(["auc", "log_loss"]), margin: z.number() }),
    holdout: completeRequestSchema.shape.holdout,
    reason: z.string().nullable(),
    canaryWeight: z.number().int().nullable(),
    promotion: z.enum(["auto", "manual"]),
    canaryStartedAt: z.string().nullable(),
    decidedAt: z.string().nullable(),
    createdAt: z.string(),
  })
  .meta({ id: "Candidate" });
export type Candidate = z.infer<typeof candidateSchema>;

export const candidateListSchema = z
  .object({ candidates: z.array(candidateSchema) })
  .meta({ id: "CandidateList" });

/** One labeled record for retraining: the scored record's fields plus the observed outcome. */
export const labeledRecordsSchema = z
  .object({
    records: z.array(z.object({ record: z.record(z.string(), z.unknown()), churned: z.boolean() })),
  })
  .meta({ id: "LabeledRecords" });
export type LabeledRecords = z.infer<typeof labeledRecordsSchema>;
