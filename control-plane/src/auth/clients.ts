import { eq } from "drizzle-orm";
import { ChurnError } from "../../../shared/src/errors.ts";
import { newId } from "../../../shared/src/ids.ts";
import { parseScopeString, type Scope } from "../../../shared/src/scopes.ts";
import type { Db, DbOrTx } from "../db/client.ts";
import { apiClients } from "../db/schema/index.ts";
import { type AuditContext, appendAudit } from "../services/audit.ts";
import { generateSecret, hashSecret, verifySecret } from "./secrets.ts";

const invalidClient = () =>
  new ChurnError("invalid_client", "Unknown client or wrong secret", {
    headers: { "www-authenticate": 'Basic realm="churn"' },
  });

// A fixed hash to verify against when the client id is unknown, so timing does not reveal which ids exist.
const DUMMY_HASH = await hashSecret("not-a-real-secret");

export async function authenticateClient(
  db: Db,
  clientId: string,
  secret: string,
): Promise<{ id: string; tenantId: string; scopes: string[] }> {
  const [client] = await db.select().from(apiClients).where(eq(apiClients.id, clientId)).limit(1);
  const ok = await verifySecret(secret, client?.secretHash ?? DUMMY_HASH);
  if (!client || !ok || client.revokedAt !== null) throw invalidClient();
  return { id: client.id, tenantId: client.tenantId, scopes: parseScopeString(client.scopes) };
}

/** Creates an API client and returns its secret once; only the scrypt hash is kept. */
export async function createApiClient(
  tx: DbOrTx,
  audit: AuditContext,
  input: { tenantId: string; name: string; scopes: Scope[] },
): Promise<{ clientId: string; clientSecret: string }> {
  const clientId = newId("client");
  const clientSecret = generateSecret("churn_cs");
  await tx.insert(apiClients).values({
    id: clientId,
    tenantId: input.tenantId,
    name: input.name,
    secretHash: await hashSecret(clientSecret),
    scopes: input.scopes.join(" "),
    createdAt: Date.now(),
  });
  await appendAudit(tx, audit, {
    tenantId: input.tenantId,
    action: "client.create",
    targets: [{ type: "client", id: clientId }],
    details: { name: input.name, scopes: input.scopes },
  });
  return { clientId, clientSecret };
}
