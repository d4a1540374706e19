import { randomBytes } from "node:crypto";
import { sha256Hex } from "#shared/hash.ts";
import { newId } from "#shared/ids.ts";
import { DAY_MS } from "#shared/time.ts";
import type { DbOrTx } from "../../platform/db/client.ts";
import { insertToken } from "./queries/tokens.ts";

export const PAT_PREFIX = "churn_pat_";

/** Creates a personal access token and returns it once; only its sha256 is stored. */
export async function createPat(
  tx: DbOrTx,
  input: { tenantId: string; userId: string; name: string; ttlDays: number },
): Promise<{ id: string; token: string; expiresAt: number }> {
  const token = PAT_PREFIX + randomBytes(24).toString("base64url");
  const id = newId("pat");
  const now = Date.now();
  const expiresAt = now + input.ttlDays * DAY_MS;
  await insertToken(tx, {
    id,
    tenantId: input.tenantId,
    userId: input.userId,
    name: input.name,
    tokenHash: await sha256Hex(token),
    expiresAt,
    createdAt: now,
  });
  return { id, token, expiresAt };
}
