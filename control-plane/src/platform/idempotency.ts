import { DAY_MS } from "#shared/time.ts";
import type { Db } from "./db/client.ts";
import { deleteKey, deleteKeysBefore, insertKey, keyRow, updateKey } from "./db/queries/idempotency-keys.ts";
import type { IdempotencyKeyRow } from "./db/schema/index.ts";
import { writeTransaction } from "./db/write-transaction.ts";

/** How long a key is remembered: a retry within this window is answered from the first response. */
export const IDEMPOTENCY_WINDOW_MS = DAY_MS;
/** A request still marked in progress after this long died with its process; its key may be claimed again. */
const ABANDONED_AFTER_MS = 5 * 60_000;
/** Marks a key whose first request has not finished yet. */
const IN_PROGRESS = 0;

export interface IdempotencyScope {
  tenantId: string;
  /** `user:<id>` or `client:<id>`: keys are per caller, so two callers never share a response. */
  principal: string;
  key: string;
}

export type Claim =
  | { kind: "claimed" }
  | { kind: "replay"; row: IdempotencyKeyRow }
  | { kind: "conflict"; reason: "different-request" | "in-progress" };

/**
 * Claims the key for this request, or says how to answer instead. One write transaction, so two concurrent
 * requests with the same key cannot both claim it.
 */
export function claimIdempotencyKey(
  db: Db,
  scope: IdempotencyScope,
  requestHash: string,
  now = Date.now(),
): Promise<Claim> {
  return writeTransaction(db, async (tx): Promise<Claim> => {
    const row = await keyRow(tx, scope);
    const live =
      row !== undefined &&
      row.createdAt > now - IDEMPOTENCY_WINDOW_MS &&
      !(row.status === IN_PROGRESS && row.createdAt <= now - ABANDONED_AFTER_MS);
    if (row && live) {
      if (row.requestHash !== requestHash) return { kind: "conflict", reason: "different-request" };
      if (row.status === IN_PROGRESS) return { kind: "conflict", reason: "in-progress" };
      return { kind: "replay", row };
    }
    if (row) await deleteKey(tx, scope);
    // Forget keys past the window as we go: the table stays as small as one day of creations.
    await deleteKeysBefore(tx, now - IDEMPOTENCY_WINDOW_MS);
    await insertKey(tx, {
      ...scope,
      requestHash,
      status: IN_PROGRESS,
      body: null,
      resourceId: null,
      createdAt: now,
    });
    return { kind: "claimed" };
  });
}

/** Stores the first response; `body` is null when it held a one-time secret (then `resourceId` names it). */
export function completeIdempotencyKey(
  db: Db,
  scope: IdempotencyScope,
  response: { status: number; body: string | null; resourceId: string | null },
): Promise<void> {
  return writeTransaction(db, async (tx) => {
    await updateKey(tx, scope, response);
  });
}

/** Frees the key after a request that changed nothing (an error), so the client can retry with it. */
export function releaseIdempotencyKey(db: Db, scope: IdempotencyScope): Promise<void> {
  return writeTransaction(db, async (tx) => {
    await deleteKey(tx, scope, IN_PROGRESS);
  });
}
