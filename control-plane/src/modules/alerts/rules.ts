import { eq } from "drizzle-orm";
import { type AlertRules, alertRulesSchema } from "#shared/alerts.ts";
import { toIso } from "#shared/time.ts";
import type { Db, DbOrTx } from "../../platform/db/client.ts";
import { alertRules } from "../../platform/db/schema/index.ts";
import { type AuditContext, appendAudit } from "../audit/audit.ts";

/** The tenant's alert thresholds; the schema defaults until the tenant sets its own. */
export async function getAlertRules(
  db: DbOrTx,
  tenantId: string,
): Promise<AlertRules & { updatedAt: string | null }> {
  const [row] = await db.select().from(alertRules).where(eq(alertRules.tenantId, tenantId)).limit(1);
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
  await db.transaction(
    async (tx) => {
      const before = await getAlertRules(tx, tenantId);
      await tx
        .insert(alertRules)
        .values(values)
        .onConflictDoUpdate({ target: alertRules.tenantId, set: { ...rules, updatedAt: now } });
      const { updatedAt: _, ...from } = before;
      await appendAudit(tx, audit, {
        tenantId,
        action: "alert_rule.update",
        targets: [{ type: "tenant", id: tenantId }],
        details: { from, to: rules },
      });
    },
    { behavior: "immediate" },
  );
  return { ...rules, updatedAt: toIso(now) };
}
