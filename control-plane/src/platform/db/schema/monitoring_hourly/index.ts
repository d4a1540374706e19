import { integer, primaryKey, sqliteTable, text } from "drizzle-orm/sqlite-core";

/**
 * One row per tenant × model version × hour (`hour` is the hour's start, epoch ms): the merged sketch of
 * every prediction event of that hour, plus the records the edge rejected for that version. Any window is a
 * sum of hours, so drift and quality never rescan predictions.
 */
export const monitoringHourly = sqliteTable(
  "monitoring_hourly",
  {
    tenantId: text("tenant_id").notNull(),
    versionId: text("version_id").notNull(),
    hour: integer("hour").notNull(),
    /** Records scored; equals the sketch's `records` when a sketch is present. */
    records: integer("records").notNull().default(0),
    contacts: integer("contacts").notNull().default(0),
    /** Scored records per variant, `{ production?, canary? }` (JSON). */
    variants: text("variants").notNull().default("{}"),
    /** The merged `Sketch` (JSON); null until an event with a sketch arrives. */
    sketch: text("sketch"),
    rejectedRecords: integer("rejected_records").notNull().default(0),
    /** Field → per-field errors of rejected requests (JSON). */
    rejectedFields: text("rejected_fields").notNull().default("{}"),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.versionId, t.hour] })],
);
export type MonitoringHourlyRow = typeof monitoringHourly.$inferSelect;
