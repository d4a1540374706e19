import { index, integer, primaryKey, sqliteTable, text } from "drizzle-orm/sqlite-core";

/**
 * Raw scored records, stored only for tenants that enabled it and deleted after their retention.
 * Never logged; read only by the tenant's own exports.
 */
export const rawRecords = sqliteTable(
  "raw_records",
  {
    tenantId: text("tenant_id").notNull(),
    predictionId: text("prediction_id").notNull(),
    record: text("record").notNull(),
    storedAt: integer("stored_at").notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.predictionId] }),
    index("raw_records_tenant_stored_idx").on(t.tenantId, t.storedAt),
  ],
);
export type RawRecordRow = typeof rawRecords.$inferSelect;
