import { integer, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";
import { AUDIT_ACTIONS } from "#shared/audit.ts";
import { createdAt } from "../columns.ts";

/**
 * Hash-chained per tenant; triggers in the migrations refuse UPDATE and DELETE. `chain_version` says how
 * `hash` was computed: 1, sha256 (entries written before migration 0018); 2, HMAC-SHA256 with the audit key.
 */
export const auditLog = sqliteTable(
  "audit_log",
  {
    id: text("id").primaryKey(),
    tenantId: text("tenant_id").notNull(),
    seq: integer("seq").notNull(),
    action: text("action", { enum: AUDIT_ACTIONS }).notNull(),
    actorType: text("actor_type").notNull(),
    actorId: text("actor_id").notNull(),
    targets: text("targets").notNull(),
    details: text("details").notNull(),
    requestId: text("request_id"),
    ip: text("ip"),
    userAgent: text("user_agent"),
    createdAt: createdAt(),
    prevHash: text("prev_hash").notNull(),
    hash: text("hash").notNull(),
    chainVersion: integer("chain_version").notNull().default(1),
  },
  (t) => [uniqueIndex("audit_log_tenant_seq_uq").on(t.tenantId, t.seq)],
);
export type AuditLogRow = typeof auditLog.$inferSelect;
