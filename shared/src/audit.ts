import { z } from "zod";

/** Every mutating action the platform audits. A new action needs a variant here before it compiles. */
export const AUDIT_ACTIONS = [
  "tenant.create",
  "user.create",
  "pat.create",
  "client.create",
  "client.rotate",
  "client.revoke",
  "key.create",
  "key.retire",
  "token.issue",
  "model.create",
  "model_version.publish",
  "deployment.update",
  "user.update",
  "pat.revoke",
  "client.update",
  "limits.update",
  "deployment.rollback",
  "monitoring.update",
  "alert_rule.update",
  "webhook.create",
  "webhook.delete",
  "alert.fire",
  "alert.resolve",
  "retraining.policy.update",
  "retraining.request",
  "retraining.claim",
  "retraining.complete",
  "retraining.fail",
  "candidate.reject",
  "candidate.canary",
  "candidate.promote",
  "predict_settings.update",
  "customer.erase",
  "customer.export",
  "user.disable",
  "user.delete",
  "user.tokens_revoke",
  "invitation.create",
  "invitation.redeem",
  /** A tenant's single sign-on settings changed (the client secret is never recorded). */
  "sso.update",
  /** A tenant's SAML single sign-on settings changed (provider, certificates, mappings). */
  "saml.update",
  /** A person signed in through the tenant's identity provider (found, linked by email, or created). */
  "user.sso_sign_in",
  /** The chain's keyed cut-over: entries before it were chained by the unkeyed rule (docs in SECURITY.md). */
  "audit.chain_keyed",
  /** The database was restored from a backup: signed checkpoints made before this entry no longer apply. */
  "audit.restore",
  /** The tenant's monthly prediction quota was set or removed (clients' own are in client.create/update). */
  "quota.update",
] as const;
export const auditActionSchema = z.enum(AUDIT_ACTIONS);
export type AuditAction = z.infer<typeof auditActionSchema>;

export const actorSchema = z.object({
  type: z.enum(["user", "client", "system"]),
  id: z.string(),
});
export type Actor = z.infer<typeof actorSchema>;

export const auditEntrySchema = z
  .object({
    id: z.string(),
    tenantId: z.string(),
    seq: z.number().int(),
    action: auditActionSchema,
    actor: actorSchema,
    targets: z.array(z.object({ type: z.string(), id: z.string() })),
    details: z.record(z.string(), z.unknown()),
    requestId: z.string().nullable(),
    ip: z.string().nullable(),
    userAgent: z.string().nullable(),
    createdAt: z.string(),
    prevHash: z.string(),
    hash: z.string(),
  })
  .meta({ id: "AuditEntry" });
export type AuditEntry = z.infer<typeof auditEntrySchema>;

const hex64 = z.string().regex(/^[0-9a-f]{64}$/);

/**
 * A signed statement of a chain's head at a moment, kept outside the database (edge KV, and a file beside
 * each backup): whoever deletes the chain's tail or rewrites it afterwards cannot make it agree again
 * without the audit key.
 */
export const auditCheckpointSchema = z
  .object({
    tenantId: z.string().min(1),
    seq: z.number().int().positive(),
    headHash: hex64,
    time: z.iso.datetime(),
    /** HMAC-SHA256 with the audit key over `auditCheckpointMessage(…)`, in hex. */
    mac: hex64,
  })
  .meta({ id: "AuditCheckpoint" });
export type AuditCheckpoint = z.infer<typeof auditCheckpointSchema>;

export const AUDIT_CHECKPOINT_FILE_FORMAT = "churn.audit-checkpoints/1";

/** The file `npm run db -- backup` writes beside a backup: every chain's head in that backup, signed. */
export const auditCheckpointFileSchema = z.object({
  format: z.literal(AUDIT_CHECKPOINT_FILE_FORMAT),
  /** The backup file's name, for people matching files up. */
  backup: z.string(),
  createdAt: z.iso.datetime(),
  checkpoints: z.array(auditCheckpointSchema),
});
export type AuditCheckpointFile = z.infer<typeof auditCheckpointFileSchema>;

/**
 * What a checkpoint's MAC covers. The label makes it a different message from any chain entry's (whose
 * input starts with 64 hex digits), so one key can serve both without either standing in for the other.
 */
export function auditCheckpointMessage(c: Omit<AuditCheckpoint, "mac">): string {
  return `churn.audit-checkpoint/1\n${JSON.stringify([c.tenantId, c.seq, c.headHash, c.time])}`;
}

/** GET /v1/audit/verify: the chain checked entry by entry, then against its latest signed checkpoint. */
export const auditVerificationSchema = z
  .object({
    ok: z.boolean(),
    tenantId: z.string(),
    entries: z.number().int(),
    /** Entries chained by the legacy unkeyed rule before the chain's keyed cut-over; absent when none. */
    unkeyedEntries: z.number().int().optional(),
    /** The first entry that does not verify, and why. */
    firstBad: z.object({ seq: z.number().int(), id: z.string(), reason: z.string() }).optional(),
    headHash: z.string(),
    /** The signed checkpoint the chain was compared with; absent when there is none yet. */
    checkpoint: auditCheckpointSchema.optional(),
    /** Why the chain does not agree with that checkpoint (its tail deleted, or a forged checkpoint). */
    checkpointProblem: z.string().optional(),
  })
  .meta({ id: "AuditVerification" });
export type AuditVerification = z.infer<typeof auditVerificationSchema>;
