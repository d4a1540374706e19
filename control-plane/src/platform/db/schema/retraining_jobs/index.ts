import { index, integer, sqliteTable, text } from "drizzle-orm/sqlite-core";
import { createdAt } from "../columns.ts";
import { tenants } from "../tenants/index.ts";

/**
 * One retraining run. A worker holds it under a lease (`lease_token` until `lease_expires_at`); an expired
 * lease makes it claimable again with a new token, so a stale worker's report is refused.
 */
export const retrainingJobs = sqliteTable(
  "retraining_jobs",
  {
    id: text("id").primaryKey(),
    tenantId: text("tenant_id")
      .notNull()
      .references(() => tenants.id),
    state: text("state", { enum: ["queued", "running", "succeeded", "failed"] }).notNull(),
    trigger: text("trigger", { enum: ["manual", "alert", "schedule"] }).notNull(),
    reason: text("reason"),
    alertId: text("alert_id"),
    attempts: integer("attempts").notNull().default(0),
    maxAttempts: integer("max_attempts").notNull(),
    leaseToken: text("lease_token"),
    leaseExpiresAt: integer("lease_expires_at"),
    worker: text("worker"),
    /** The production version the claiming worker was told to compare against. */
    productionVersionId: text("production_version_id"),
    failureReason: text("failure_reason"),
    candidateId: text("candidate_id"),
    createdAt: createdAt(),
    updatedAt: integer("updated_at").notNull(),
  },
  (t) => [
    index("retraining_jobs_tenant_state_idx").on(t.tenantId, t.state),
    index("retraining_jobs_state_lease_idx").on(t.state, t.leaseExpiresAt),
  ],
);
export type RetrainingJobRow = typeof retrainingJobs.$inferSelect;
