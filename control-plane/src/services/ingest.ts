import type { EdgeEvent } from "../../../shared/src/events.ts";
import type { Db } from "../db/client.ts";
import { ingestedEvents } from "../db/schema/index.ts";

/** Stores a delivered batch; events already stored (a redelivery) are counted as duplicates, not re-added. */
export async function ingestEvents(
  db: Db,
  events: EdgeEvent[],
): Promise<{ accepted: number; duplicates: number }> {
  const now = Date.now();
  const rows = events.map((e) => ({
    eventId: e.eventId,
    tenantId: e.tenantId,
    type: e.type,
    occurredAt: Date.parse(e.at) || now,
    receivedAt: now,
    payload: JSON.stringify(e),
  }));
  const inserted = await db
    .insert(ingestedEvents)
    .values(rows)
    .onConflictDoNothing({ target: ingestedEvents.eventId })
    .returning({ eventId: ingestedEvents.eventId });
  return { accepted: inserted.length, duplicates: rows.length - inserted.length };
}
