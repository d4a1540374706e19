import { and, eq, isNotNull, isNull } from "drizzle-orm";
import { ChurnError } from "#shared/errors.ts";
import {
  DEFAULT_TENANT_LIMITS,
  kvKeys,
  type RateLimit,
  type TenantLimits,
  tenantLimitsSchema,
} from "#shared/kv.ts";
import type { Db } from "../../platform/db/client.ts";
import { apiClients, tenants } from "../../platform/db/schema/index.ts";
import type { EdgeStore } from "../../platform/edge-store/edge-store.ts";
import { KeyedSerialQueue } from "../../platform/serial-queue.ts";
import { type AuditContext, appendAudit } from "../audit/audit.ts";

const publishes = new KeyedSerialQueue();

/** The tenant's limits as the edge applies them, read from the database. */
export async function tenantLimitsOf(db: Db, tenantId: string): Promise<TenantLimits> {
  const [tenant] = await db
    .select({ ratePerSecond: tenants.ratePerSecond, burst: tenants.rateBurst })
    .from(tenants)
    .where(eq(tenants.id, tenantId))
    .limit(1);
  const clients = await db
    .select({ id: apiClients.id, ratePerSecond: apiClients.ratePerSecond, burst: apiClients.rateBurst })
    .from(apiClients)
    .where(
      and(
        eq(apiClients.tenantId, tenantId),
        isNull(apiClients.revokedAt),
        isNotNull(apiClients.ratePerSecond),
      ),
    );
  return tenantLimitsSchema.parse({
    tenant:
      tenant?.ratePerSecond != null && tenant.burst != null
        ? { ratePerSecond: tenant.ratePerSecond, burst: tenant.burst }
        : DEFAULT_TENANT_LIMITS.tenant,
    clients: Object.fromEntries(
      clients
        .filter((c) => c.burst !== null)
        .map((c) => [c.id, { ratePerSecond: c.ratePerSecond!, burst: c.burst! }]),
    ),
  });
}

/**
 * Writes `tenant:{id}:limits`, rebuilt whole from the database; publishes of one tenant run one at a time
 * so an older snapshot never lands after a newer one.
 */
export function publishTenantLimits(db: Db, edge: EdgeStore, tenantId: string): Promise<TenantLimits> {
  return publishes.run(tenantId, async () => {
    const limits = await tenantLimitsOf(db, tenantId);
    try {
      await edge.put(kvKeys.limits(tenantId), JSON.stringify(limits));
    } catch (err) {
      throw new ChurnError(
        "UNAVAILABLE",
        "The rate limit is recorded, but the edge store refused it; it is re-sent with the next limit change or restart",
        { cause: err },
      );
    }
    return limits;
  });
}

/** Sets the tenant-wide limit (audited), then publishes the tenant's limits to the edge. */
export async function setTenantLimit(
  db: Db,
  edge: EdgeStore,
  audit: AuditContext,
  tenantId: string,
  limit: RateLimit,
): Promise<TenantLimits> {
  await db.transaction(
    async (tx) => {
      const [before] = await tx
        .select({ ratePerSecond: tenants.ratePerSecond, burst: tenants.rateBurst })
        .from(tenants)
        .where(eq(tenants.id, tenantId))
        .limit(1);
      await tx
        .update(tenants)
        .set({ ratePerSecond: limit.ratePerSecond, rateBurst: limit.burst })
        .where(eq(tenants.id, tenantId));
      await appendAudit(tx, audit, {
        tenantId,
        action: "limits.update",
        targets: [{ type: "tenant", id: tenantId }],
        details: {
          from: before?.ratePerSecond != null ? before : null,
          to: limit,
        },
      });
    },
    { behavior: "immediate" },
  );
  return publishTenantLimits(db, edge, tenantId);
}

/**
 * Re-sends the limits of every tenant that has any set (for itself or a client) at start-up, like
 * deployments and revocations: a put the edge store refused earlier does not wait for the next change.
 */
export async function syncTenantLimitsToEdge(db: Db, edge: EdgeStore): Promise<number> {
  const withTenantLimit = await db
    .select({ id: tenants.id })
    .from(tenants)
    .where(isNotNull(tenants.ratePerSecond));
  const withClientLimit = await db
    .selectDistinct({ id: apiClients.tenantId })
    .from(apiClients)
    .where(isNotNull(apiClients.ratePerSecond));
  const ids = new Set([...withTenantLimit, ...withClientLimit].map((r) => r.id));
  for (const tenantId of ids) await publishTenantLimits(db, edge, tenantId);
  return ids.size;
}
