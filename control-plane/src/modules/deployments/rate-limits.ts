import { ChurnError } from "#shared/errors.ts";
import {
  DEFAULT_TENANT_LIMITS,
  kvKeys,
  type RateLimit,
  type TenantLimits,
  tenantLimitsSchema,
} from "#shared/kv.ts";
import type { Db } from "../../platform/db/client.ts";
import { writeTransaction } from "../../platform/db/write-transaction.ts";
import type { EdgeStore } from "../../platform/edge-store/edge-store.ts";
import { publishCurrent } from "../../platform/edge-store/publish-current.ts";
import { KeyedSerialQueue } from "../../platform/serial-queue.ts";
import { type AuditContext, appendAudit } from "../audit/audit.ts";
import {
  clientQuotasOf,
  clientRateLimitsOf,
  tenantQuotaOf,
  tenantRateLimitOf,
  tenantsWithLimits,
  tenantsWithQuotas,
  updateTenantSettings,
} from "./queries/tenant-settings.ts";

const publishes = new KeyedSerialQueue();

/** The tenant's limits and monthly prediction quotas as the edge applies them, read from the database. */
export async function tenantLimitsOf(db: Db, tenantId: string): Promise<TenantLimits> {
  const tenant = await tenantRateLimitOf(db, tenantId);
  const clients = await clientRateLimitsOf(db, tenantId);
  const tenantQuota = (await tenantQuotaOf(db, tenantId))?.monthlyPredictionQuota ?? null;
  const clientQuotas = await clientQuotasOf(db, tenantId);
  // Without any quota the field is left out: the edge then only counts, and the record stays as it was.
  const quotas =
    tenantQuota !== null || clientQuotas.length > 0
      ? {
          tenant: tenantQuota,
          clients: Object.fromEntries(clientQuotas.map((c) => [c.id, c.monthlyPredictionQuota!])),
        }
      : undefined;
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
    ...(quotas ? { quotas } : {}),
  });
}

/**
 * Writes `tenant:{id}:limits`, rebuilt whole from the database; publishes of one tenant run one at a time
 * so an older snapshot never lands after a newer one.
 */
export function publishTenantLimits(db: Db, edge: EdgeStore, tenantId: string): Promise<TenantLimits> {
  return publishes.run(tenantId, async () => {
    const limits = await publishCurrent(
      () => tenantLimitsOf(db, tenantId),
      async (text) => {
        try {
          await edge.put(kvKeys.limits(tenantId), text);
        } catch (err) {
          throw new ChurnError(
            "UNAVAILABLE",
            "The limit is recorded, but the edge store refused it; it is re-sent with the next limit change or restart",
            { cause: err },
          );
        }
      },
    );
    return limits!;
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
  await writeTransaction(db, async (tx) => {
    const before = await tenantRateLimitOf(tx, tenantId);
    await updateTenantSettings(tx, tenantId, { ratePerSecond: limit.ratePerSecond, rateBurst: limit.burst });
    await appendAudit(tx, audit, {
      tenantId,
      action: "limits.update",
      targets: [{ type: "tenant", id: tenantId }],
      details: {
        from: before?.ratePerSecond != null ? before : null,
        to: limit,
      },
    });
  });
  return publishTenantLimits(db, edge, tenantId);
}

/** The tenant's own monthly prediction quota; null: none. */
export async function tenantQuota(db: Db, tenantId: string): Promise<number | null> {
  return (await tenantQuotaOf(db, tenantId))?.monthlyPredictionQuota ?? null;
}

/** Sets or removes (null) the tenant's monthly prediction quota (audited), then publishes it to the edge. */
export async function setTenantQuota(
  db: Db,
  edge: EdgeStore,
  audit: AuditContext,
  tenantId: string,
  quota: number | null,
): Promise<TenantLimits> {
  await writeTransaction(db, async (tx) => {
    const before = (await tenantQuotaOf(tx, tenantId))?.monthlyPredictionQuota ?? null;
    await updateTenantSettings(tx, tenantId, { monthlyPredictionQuota: quota });
    await appendAudit(tx, audit, {
      tenantId,
      action: "quota.update",
      targets: [{ type: "tenant", id: tenantId }],
      details: { from: before, to: quota },
    });
  });
  return publishTenantLimits(db, edge, tenantId);
}

/** Tenants with a monthly prediction quota of their own or a live client's, by id. */
export function tenantsWithPredictionQuotas(db: Db): Promise<string[]> {
  return tenantsWithQuotas(db);
}

/**
 * Re-sends the limits of every tenant that has any set (for itself or a client) at start-up, like
 * deployments and revocations: a put the edge store refused earlier does not wait for the next change.
 */
export async function syncTenantLimitsToEdge(db: Db, edge: EdgeStore): Promise<number> {
  const ids = await tenantsWithLimits(db);
  for (const tenantId of ids) await publishTenantLimits(db, edge, tenantId);
  return ids.size;
}
