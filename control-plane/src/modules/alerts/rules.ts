import { type AlertRules, alertRulesSchema } from "#shared/alerts.ts";
import { toIso } from "#shared/time.ts";
import type { Db, DbOrTx } from "../../platform/db/client.ts";
import { writeTransaction } from "../../platform/db/write-transaction.ts";
import { type AuditContext, appendAudit } from "../audit/audit.ts";
import { alertRulesRow, upsertAlertRules } from "./queries.ts";

/** The tenant's alert thresholds; the schema defaults until the tenant sets its own. */
export async function getAlertRules(
  db: DbOrTx,
  tenantId: string,
): Promise<AlertRules & { updatedAt: string | null }> {
  const row = await alertRulesRow(db, tenantId);
  if (!row) return { ...alertRulesSchema.parse({}), updatedAt: null };
  return {
    driftScore: row.driftScore,
    estimatedAucDrop: row.estimatedAucDrop,
    dataQualityRate: row.dataQualityRate,
    updatedAt: toIso(row.updatedAt),
  };
}

export async function putAlertRules(
  db: Db,
  audit: AuditContext,
  tenantId: string,
  rules: AlertRules,
): Promise<AlertRules & { updatedAt: string }> {
  const now = Date.now();
  const values = { tenantId, ...rules, updatedAt: now };
  await writeTransaction(db, async (tx) => {
    const before = await getAlertRules(tx, tenantId);
    await upsertAlertRules(tx, values);
    const { updatedAt: _, ...from } = before;
    await appendAudit(tx, audit, {
      tenantId,
      action: "alert_rule.update",
      targets: [{ type: "tenant", id: tenantId }],
      details: { from, to: rules },
    });
  });
  return { ...rules, updatedAt: toIso(now) };
}
