import { and, eq, isNotNull, isNull, or } from "drizzle-orm";
import type { DbOrTx } from "../../../platform/db/client.ts";
import { apiClients, tenants } from "../../../platform/db/schema/index.ts";

/** The serving settings kept on a tenant's row: unknown-field policy, rate limits and the monthly quota. */

export async function allowUnknownFieldsOf(
  db: DbOrTx,
  tenantId: string,
): Promise<{ allowUnknownFields: boolean } | undefined> {
  const [tenant] = await db
    .select({ allowUnknownFields: tenants.allowUnknownFields })
    .from(tenants)
    .where(eq(tenants.id, tenantId))
    .limit(1);
  return tenant;
}

export async function tenantRateLimitOf(
  db: DbOrTx,
  tenantId: string,
): Promise<{ ratePerSecond: number | null; burst: number | null } | undefined> {
  const [tenant] = await db
    .select({ ratePerSecond: tenants.ratePerSecond, burst: tenants.rateBurst })
    .from(tenants)
    .where(eq(tenants.id, tenantId))
    .limit(1);
  return tenant;
}

export async function tenantQuotaOf(
  db: DbOrTx,
  tenantId: string,
): Promise<{ monthlyPredictionQuota: number | null } | undefined> {
  const [tenant] = await db
    .select({ monthlyPredictionQuota: tenants.monthlyPredictionQuota })
    .from(tenants)
    .where(eq(tenants.id, tenantId))
    .limit(1);
  return tenant;
}

export async function updateTenantSettings(
  tx: DbOrTx,
  tenantId: string,
  fields: {
    allowUnknownFields?: boolean;
    ratePerSecond?: number;
    rateBurst?: number;
    monthlyPredictionQuota?: number | null;
  },
): Promise<void> {
  await tx.update(tenants).set(fields).where(eq(tenants.id, tenantId));
}

/** Live clients with a limit of their own. */
export function clientRateLimitsOf(db: DbOrTx, tenantId: string) {
  return db
    .select({ id: apiClients.id, ratePerSecond: apiClients.ratePerSecond, burst: apiClients.rateBurst })
    .from(apiClients)
    .where(
      and(
        eq(apiClients.tenantId, tenantId),
        isNull(apiClients.revokedAt),
        isNotNull(apiClients.ratePerSecond),
      ),
    );
}

/** Live clients with a monthly prediction quota of their own. */
export function clientQuotasOf(db: DbOrTx, tenantId: string) {
  return db
    .select({ id: apiClients.id, monthlyPredictionQuota: apiClients.monthlyPredictionQuota })
    .from(apiClients)
    .where(
      and(
        eq(apiClients.tenantId, tenantId),
        isNull(apiClients.revokedAt),
        isNotNull(apiClients.monthlyPredictionQuota),
      ),
    );
}

/** Tenants with any limit or quota set, for themselves or for a client. */
export async function tenantsWithLimits(db: DbOrTx): Promise<Set<string>> {
  const withTenantLimit = await db
    .select({ id: tenants.id })
    .from(tenants)
    .where(or(isNotNull(tenants.ratePerSecond), isNotNull(tenants.monthlyPredictionQuota)));
  const withClientLimit = await db
    .selectDistinct({ id: apiClients.tenantId })
    .from(apiClients)
    .where(or(isNotNull(apiClients.ratePerSecond), isNotNull(apiClients.monthlyPredictionQuota)));
  return new Set([...withTenantLimit, ...withClientLimit].map((r) => r.id));
}

/** Tenants with a monthly prediction quota, their own or a live client's (the usage gauges' tenants). */
export async function tenantsWithQuotas(db: DbOrTx): Promise<string[]> {
  const withTenantQuota = await db
    .select({ id: tenants.id })
    .from(tenants)
    .where(isNotNull(tenants.monthlyPredictionQuota));
  const withClientQuota = await db
    .selectDistinct({ id: apiClients.tenantId })
    .from(apiClients)
    .where(and(isNull(apiClients.revokedAt), isNotNull(apiClients.monthlyPredictionQuota)));
  return [...new Set([...withTenantQuota, ...withClientQuota].map((r) => r.id))].sort();
}
