import { index, integer, sqliteTable, text } from "drizzle-orm/sqlite-core";
import { createdAt } from "../columns.ts";
import { tenants } from "../tenants/index.ts";

/** A version a retraining job produced, with the gate's verdict and where it stands in canary/promotion. */
export const retrainingCandidates = sqliteTable(
  "retraining_candidates",
  {
    id: text("id").primaryKey(),
    tenantId: text("tenant_id")
      .notNull()
      .references(() => tenants.id),
    jobId: text("job_id").notNull(),
    versionId: text("version_id").notNull(),
    productionVersionId: text("production_version_id"),
    state: text("state", { enum: ["rejected", "canary", "promoted", "rolled_back"] }).notNull(),
    /** `{metric, margin}` of the gate that judged it (JSON). */
    gate: text("gate").notNull(),
    /** The worker's holdout report (JSON). */
    holdout: text("holdout").notNull(),
    reason: text("reason"),
    canaryWeight: integer("canary_weight"),
    promotion: text("promotion", { enum: ["auto", "manual"] }).notNull(),
    canaryStartedAt: integer("canary_started_at"),
    decidedAt: integer("decided_at"),
    createdAt: createdAt(),
  },
  (t) => [index("retraining_candidates_tenant_state_idx").on(t.tenantId, t.state)],
);
export type RetrainingCandidateRow = typeof retrainingCandidates.$inferSelect;
