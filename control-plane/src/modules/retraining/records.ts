import type { LabeledRecords } from "#shared/retraining.ts";
import type { Db } from "../../platform/db/client.ts";
import { labeledRecordRows } from "./queries/policy.ts";

/** At most this many labeled records go to one retraining job (the most recent ones). */
export const MAX_LABELED_RECORDS = 50_000;

/**
 * The tenant's stored raw records that have an outcome: each scored record joined with the feedback that
 * labeled its prediction. Empty for tenants that do not store raw records; the worker then trains on its
 * data source alone.
 */
export async function labeledRecords(
  db: Db,
  tenantId: string,
  limit = MAX_LABELED_RECORDS,
): Promise<LabeledRecords> {
  const rows = await labeledRecordRows(db, tenantId, limit);
  return {
    records: rows.map((r) => ({
      record: JSON.parse(r.record) as Record<string, unknown>,
      churned: r.label === true,
    })),
  };
}
