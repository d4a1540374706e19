import { and, asc, eq, gt, isNull, sql } from "drizzle-orm";
import type { Db, DbOrTx } from "../../../platform/db/client.ts";
import { preparedPerDatabase } from "../../../platform/db/prepared.ts";
import { type ApiClientRow, apiClients } from "../../../platform/db/schema/index.ts";

/** API clients' rows. Every lookup by id names the tenant too, except the token endpoint's (see below). */

export async function insertApiClient(tx: DbOrTx, row: typeof apiClients.$inferInsert): Promise<void> {
  await tx.insert(apiClients).values(row);
}

export function tenantClients(db: DbOrTx, tenantId: string): Promise<ApiClientRow[]> {
  return db
    .select()
    .from(apiClients)
    .where(eq(apiClients.tenantId, tenantId))
    .orderBy(asc(apiClients.createdAt), asc(apiClients.id));
}

export async function tenantClient(
  db: DbOrTx,
  tenantId: string,
  clientId: string,
): Promise<ApiClientRow | undefined> {
  const [row] = await db
    .select()
    .from(apiClients)
    .where(and(eq(apiClients.id, clientId), eq(apiClients.tenantId, tenantId)))
    .limit(1);
  return row;
}

export async function updateClient(
  tx: DbOrTx,
  clientId: string,
  fields: Partial<Omit<ApiClientRow, "id" | "tenantId">>,
): Promise<void> {
  await tx.update(apiClients).set(fields).where(eq(apiClients.id, clientId));
}

/**
 * The token endpoint's lookup: client credentials carry only the client id, and the row found names the
 * tenant every token is then scoped to.
 */
export const clientById = preparedPerDatabase((db: Db) =>
  db
    .select()
    .from(apiClients)
    .where(eq(apiClients.id, sql.placeholder("id")))
    .limit(1)
    .prepare(),
);

/** A live (not revoked) client's current scopes, read on every request a client token makes. */
export const liveClientScopes = preparedPerDatabase((db: Db) =>
  db
    .select({ id: apiClients.id, scopes: apiClients.scopes })
    .from(apiClients)
    .where(
      and(
        eq(apiClients.id, sql.placeholder("id")),
        eq(apiClients.tenantId, sql.placeholder("tenantId")),
        isNull(apiClients.revokedAt),
      ),
    )
    .limit(1)
    .prepare(),
);

/** Clients revoked after `sinceMs`, with when. */
export function clientsRevokedSince(db: DbOrTx, sinceMs: number) {
  return db
    .select({ id: apiClients.id, revokedAt: apiClients.revokedAt })
    .from(apiClients)
    .where(gt(apiClients.revokedAt, sinceMs));
}
