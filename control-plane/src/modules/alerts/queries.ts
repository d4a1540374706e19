import { and, desc, eq } from "drizzle-orm";
import type { DbOrTx } from "../../platform/db/client.ts";
import { type AlertRow, alertRules, alerts } from "../../platform/db/schema/index.ts";

/** Alerts and the thresholds that fire them, per tenant. Webhook queries live in queries/webhooks.ts. */

export async function alertRulesRow(db: DbOrTx, tenantId: string) {
  const [row] = await db.select().from(alertRules).where(eq(alertRules.tenantId, tenantId)).limit(1);
  return row;
}

export async function upsertAlertRules(tx: DbOrTx, row: typeof alertRules.$inferInsert): Promise<void> {
  const { tenantId: _, ...set } = row;
  await tx.insert(alertRules).values(row).onConflictDoUpdate({ target: alertRules.tenantId, set });
}

/** The tenant's alerts, newest first, optionally only firing or only resolved ones. */
export function tenantAlerts(
  db: DbOrTx,
  tenantId: string,
  state: "firing" | "resolved" | undefined,
  limit: number,
): Promise<AlertRow[]> {
  return db
    .select()
    .from(alerts)
    .where(and(eq(alerts.tenantId, tenantId), ...(state ? [eq(alerts.state, state)] : [])))
    .orderBy(desc(alerts.firedAt), desc(alerts.id))
    .limit(limit);
}

export async function firingKinds(db: DbOrTx, tenantId: string): Promise<Set<AlertRow["kind"]>> {
  const rows = await db
    .select({ kind: alerts.kind })
    .from(alerts)
    .where(and(eq(alerts.tenantId, tenantId), eq(alerts.state, "firing")));
  return new Set(rows.map((a) => a.kind));
}

/** The newest firing alert of one kind. */
export async function openAlert(
  tx: DbOrTx,
  tenantId: string,
  kind: AlertRow["kind"],
): Promise<AlertRow | undefined> {
  const [open] = await tx
    .select()
    .from(alerts)
    .where(and(eq(alerts.tenantId, tenantId), eq(alerts.kind, kind), eq(alerts.state, "firing")))
    .orderBy(desc(alerts.firedAt))
    .limit(1);
  return open;
}

export async function insertAlert(tx: DbOrTx, row: AlertRow): Promise<void> {
  await tx.insert(alerts).values(row);
}

export async function updateAlert(
  tx: DbOrTx,
  id: string,
  fields: Partial<Pick<AlertRow, "state" | "resolvedAt" | "lastValue">>,
): Promise<void> {
  await tx.update(alerts).set(fields).where(eq(alerts.id, id));
}
