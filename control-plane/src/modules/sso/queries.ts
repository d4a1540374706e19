import { eq } from "drizzle-orm";
import type { DbOrTx } from "../../platform/db/client.ts";
import { type SsoProviderRow, ssoProviders } from "../../platform/db/schema/sso_providers/index.ts";

/** A tenant's identity provider settings; one row per tenant. */

export async function providerOf(db: DbOrTx, tenantId: string): Promise<SsoProviderRow | undefined> {
  const [row] = await db.select().from(ssoProviders).where(eq(ssoProviders.tenantId, tenantId)).limit(1);
  return row;
}

export async function saveProvider(tx: DbOrTx, row: SsoProviderRow): Promise<void> {
  const { tenantId: _, createdAt: __, ...changes } = row;
  await tx
    .insert(ssoProviders)
    .values(row)
    .onConflictDoUpdate({ target: ssoProviders.tenantId, set: changes });
}
