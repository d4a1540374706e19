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
  "user.disable",
  "user.delete",
  "user.tokens_revoke",
  "invitation.create",
  "invitation.redeem",
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
