import { index, integer, primaryKey, sqliteTable, text } from "drizzle-orm/sqlite-core";
import { createdAt } from "../columns.ts";

/**
 * The first response to each `Idempotency-Key` a principal sent in the last 24 h. `status` 0 marks a request
 * still being processed. `body` is null when the response carried a one-time secret: that is never stored,
 * so a replay names the created resource (`resource_id`) instead.
 */
export const idempotencyKeys = sqliteTable(
  "idempotency_keys",
  {
    tenantId: text("tenant_id").notNull(),
    principal: text("principal").notNull(),
    key: text("key").notNull(),
    /** sha256 of the method, path and body of the first request. */
    requestHash: text("request_hash").notNull(),
    status: integer("status").notNull(),
    body: text("body"),
    resourceId: text("resource_id"),
    createdAt: createdAt(),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.principal, t.key] }),
    index("idempotency_keys_created_idx").on(t.createdAt),
  ],
);
export type IdempotencyKeyRow = typeof idempotencyKeys.$inferSelect;
