import { integer, primaryKey, sqliteTable, text } from "drizzle-orm/sqlite-core";

/**
 * What an erasure leaves behind so that ingest can drop the erased customer's events still in the edge's
 * queue: one row per erased subject (a customer id, or a prediction id for records sent without one),
 * holding only a sha256 of the tenant, the kind and the id, never the id itself. Deleted by retention once
 * no queued event can still arrive.
 */
export const erasureTombstones = sqliteTable(
  "erasure_tombstones",
  {
    tenantId: text("tenant_id").notNull(),
    /** sha256 hex of `tenantId \0 kind \0 id` (kind: customer or prediction). */
    subjectHash: text("subject_hash").notNull(),
    /** The latest erasure of the subject; its `customer.erase` audit entry names the same id. */
    erasureId: text("erasure_id").notNull(),
    /** When that erasure was requested: queued events made at or before it are dropped. */
    erasedAt: integer("erased_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.subjectHash] })],
);
export type ErasureTombstoneRow = typeof erasureTombstones.$inferSelect;
