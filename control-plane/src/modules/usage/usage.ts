import { ChurnError } from "#shared/errors.ts";
import { kvKeys, type UsageRecord, usageRecordSchema } from "#shared/kv.ts";
import { monthBounds, toIso } from "#shared/time.ts";
import type { Usage } from "#shared/usage.ts";
import type { Db } from "../../platform/db/client.ts";
import type { EdgeStore } from "../../platform/edge-store/edge-store.ts";
import { tenantQuota } from "../deployments/rate-limits.ts";
import { listApiClients } from "../identity/api-clients.ts";

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/**
 * The month's counts as the edge's quota meter last wrote them; null when nothing was scored that month.
 * The edge writes them, so an unreadable record is the edge store's fault (503), not the caller's.
 */
export async function usageRecordOf(
  edge: EdgeStore,
  tenantId: string,
  month: string,
): Promise<UsageRecord | null> {
  let text: string | null;
  try {
    text = await edge.get(kvKeys.usage(tenantId, month));
  } catch (err) {
    throw new ChurnError("UNAVAILABLE", "Usage could not be read from the edge store; retry shortly", {
      cause: err,
    });
  }
  if (text === null) return null;
  const parsed = usageRecordSchema.safeParse(parseJson(text));
  if (!parsed.success)
    throw new ChurnError("UNAVAILABLE", `The edge's usage record for ${month} is unreadable`);
  return parsed.data;
}

/**
 * Scored records of one month (UTC) against the quotas as they are set now: the tenant's, and each client's
 * that scored that month or has a quota of its own, busiest first.
 */
export async function usageOf(db: Db, edge: EdgeStore, tenantId: string, month: string): Promise<Usage> {
  const [record, limit, clients] = await Promise.all([
    usageRecordOf(edge, tenantId, month),
    tenantQuota(db, tenantId),
    listApiClients(db, tenantId),
  ]);
  const counted = record?.clients ?? {};
  const known = new Map(clients.map((c) => [c.id, c]));
  const ids = new Set([
    ...Object.keys(counted),
    ...clients.filter((c) => c.revokedAt === null && c.monthlyPredictionQuota !== null).map((c) => c.id),
  ]);
  const rows = [...ids].map((id) => {
    const client = known.get(id);
    return {
      id,
      name: client?.name ?? null,
      revoked: client !== undefined && client.revokedAt !== null,
      used: counted[id] ?? 0,
      limit: client?.monthlyPredictionQuota ?? null,
    };
  });
  rows.sort((a, b) => b.used - a.used || (a.name ?? a.id).localeCompare(b.name ?? b.id));
  return {
    month,
    resetsAt: toIso(monthBounds(month).endsAt),
    tenant: { used: record?.used ?? 0, limit },
    clients: rows,
    updatedAt: record?.updatedAt ?? null,
  };
}
