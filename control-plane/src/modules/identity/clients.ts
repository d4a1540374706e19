import { ChurnError } from "#shared/errors.ts";
import { parseScopeString } from "#shared/scopes.ts";
import type { Db } from "../../platform/db/client.ts";
import type { ApiClientRow } from "../../platform/db/schema/index.ts";
import type { AuthThrottle } from "./auth-throttle.ts";
import { clientById } from "./queries/api-clients.ts";
import { hashSecret, verifySecret } from "./secrets.ts";
import type { VerifiedSecretCache } from "./verified-secret-cache.ts";

const invalidClient = () =>
  new ChurnError("invalid_client", "Unknown client or wrong secret", {
    headers: { "www-authenticate": 'Basic realm="churn"' },
  });

// A fixed hash to verify against when the client id is unknown, so timing does not reveal which ids exist.
const DUMMY_HASH = await hashSecret("not-a-real-secret");

/** The hashes a secret may match now: the current one, and the previous one during a rotation's overlap. */
function acceptedHashes(client: ApiClientRow, now: number): string[] {
  const hashes = [client.secretHash];
  if (client.previousSecretHash && (client.previousSecretExpiresAt ?? 0) > now) {
    hashes.push(client.previousSecretHash);
  }
  return hashes;
}

/**
 * Checks client credentials. The client row is read on every call, so a revocation or rotation applies at
 * once; only the scrypt verification itself is skipped when the cache already saw this secret match.
 */
export async function authenticateClient(
  db: Db,
  clientId: string,
  secret: string,
  cache: VerifiedSecretCache,
  throttle: AuthThrottle,
  source: string,
): Promise<{ id: string; tenantId: string; scopes: string[] }> {
  const [client] = await clientById(db).all({ id: clientId });
  const hashes = client && client.revokedAt === null ? acceptedHashes(client, Date.now()) : [];
  if (client && hashes.some((hash) => cache.matches(client.id, hash, secret)))
    return { id: client.id, tenantId: client.tenantId, scopes: parseScopeString(client.scopes) };
  await throttle.check(db, clientId, source);
  const verified = await throttle.hashing(async () => {
    // Unknown and revoked ids cost the same scrypt as a wrong secret, so timing does not tell them apart.
    if (hashes.length === 0) {
      await verifySecret(secret, DUMMY_HASH);
      return undefined;
    }
    for (const hash of hashes) if (await verifySecret(secret, hash)) return hash;
    return undefined;
  });
  if (!client || verified === undefined) {
    await throttle.recordFailure(db, clientId, source);
    throw invalidClient();
  }
  await throttle.recordSuccess(db, clientId, source);
  cache.remember(client.id, verified, secret);
  return { id: client.id, tenantId: client.tenantId, scopes: parseScopeString(client.scopes) };
}
