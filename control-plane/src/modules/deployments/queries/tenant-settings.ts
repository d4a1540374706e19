import { and, eq, isNotNull, isNull } from "drizzle-orm";
import type { DbOrTx } from "../../../platform/db/client.ts";
import { apiClients, tenants } from "../../../platform/db/schema/index.ts";

/** The serving settings kept on a tenant's row: unknown-field policy and rate limits. */

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

export async function updateTenantSettings(
  tx: DbOrTx,
  tenantId: string,
  fields: { allowUnknownFields?: boolean; ratePerSecond?: number; rateBurst?: number },
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

/** Tenants with any limit set, for themselves or for a client. */
export async function tenantsWithLimits(db: DbOrTx): Promise<Set<string>> {
  const withTenantLimit = await db
    .select({ id: tenants.id })
    .from(tenants)
    .where(isNotNull(tenants.ratePerSecond));
  const withClientLimit = await db
    .selectDistinct({ id: apiClients.tenantId })
    .from(apiClients)
    .where(isNotNull(apiClients.ratePerSecond));
  return new Set([...withTenantLimit, ...withClientLimit].map((r) => r.id));
}
