import { z } from "zod";
import {
  CUSTOMER_EXPORT_CURSOR_MAX_LENGTH,
  type CustomerExport,
  type ExportedPendingOutcome,
  type ExportedPrediction,
  type ExportedRawRecord,
} from "#shared/customer-export.ts";
import { ChurnError } from "#shared/errors.ts";
import { idPattern, newId } from "#shared/ids.ts";
import type { Db } from "../../platform/db/client.ts";
import { writeTransaction } from "../../platform/db/write-transaction.ts";
import { type AuditContext, appendAudit } from "../audit/audit.ts";
import {
  customerOrphanRecordsPage,
  customerPendingPage,
  customerPredictionsPage,
} from "./queries/customer-export.ts";

/**
 * Where the next page starts: just after the last entry returned, in the section it came from. Sections
 * come in a fixed order (predictions, pending outcomes, raw records without their prediction), each
 * walked by its own key. `e` is the export's id, the same on every page.
 */
const cursorSchema = z.discriminatedUnion("s", [
  z.strictObject({
    e: z.string().regex(idPattern("customerExport")),
    s: z.literal("p"),
    t: z.number().int(),
    k: z.string(),
  }),
  z.strictObject({
    e: z.string().regex(idPattern("customerExport")),
    s: z.literal("f"),
    k: z.string(),
    n: z.number().int().nonnegative(),
  }),
  z.strictObject({ e: z.string().regex(idPattern("customerExport")), s: z.literal("r"), k: z.string() }),
]);
type Cursor = z.infer<typeof cursorSchema>;

const encodeCursor = (cursor: Cursor): string => Buffer.from(JSON.stringify(cursor)).toString("base64url");

function decodeCursor(text: string): Cursor {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(text, "base64url").toString("utf8"));
  } catch {
    parsed = undefined;
  }
  const cursor = cursorSchema.safeParse(parsed);
  if (!cursor.success) throw new ChurnError("INVALID_REQUEST", "Invalid cursor: pass nextCursor unchanged");
  return cursor.data;
}

type Entry =
  | { section: "p"; prediction: ExportedPrediction; predictedAt: number }
  | { section: "f"; pending: ExportedPendingOutcome; eventId: string; position: number }
  | { section: "r"; record: ExportedRawRecord };

const iso = (ms: number) => new Date(ms).toISOString();
const parseRecord = (json: string) => JSON.parse(json) as Record<string, unknown>;

function cursorAfter(exportId: string, entry: Entry): Cursor {
  if (entry.section === "p")
    return { e: exportId, s: "p", t: entry.predictedAt, k: entry.prediction.predictionId };
  if (entry.section === "f") return { e: exportId, s: "f", k: entry.eventId, n: entry.position };
  return { e: exportId, s: "r", k: entry.record.predictionId };
}

/**
 * Up to `limit` of the entries after `from`, walking the sections in order; one more is read to learn
 * whether another page follows without ever answering an empty one.
 */
async function readEntries(
  db: Db,
  tenantId: string,
  customerId: string,
  from: Cursor | null,
  limit: number,
): Promise<{ entries: Entry[]; more: boolean }> {
  const entries: Entry[] = [];
  const room = () => limit + 1 - entries.length;
  const section = from?.s ?? "p";
  if (section === "p") {
    const after = from?.s === "p" ? { predictedAt: from.t, predictionId: from.k } : null;
    for (const row of await customerPredictionsPage(db, tenantId, customerId, after, room())) {
      entries.push({
        section: "p",
        predictedAt: row.predictedAt,
        prediction: {
          predictionId: row.predictionId,
          versionId: row.versionId,
          model: row.model,
          version: row.version,
          variant: row.variant,
          probability: row.probability,
          contact: row.contact,
          predictedAt: iso(row.predictedAt),
          outcome:
            row.label === null || row.labeledAt === null
              ? null
              : { churned: row.label, labeledAt: iso(row.labeledAt) },
          rawRecord:
            row.record === null || row.storedAt === null
              ? null
              : { record: parseRecord(row.record), storedAt: iso(row.storedAt) },
        },
      });
    }
  }
  if (room() > 0 && section !== "r") {
    const after = from?.s === "f" ? { eventId: from.k, position: from.n } : null;
    for (const row of await customerPendingPage(db, tenantId, customerId, after, room())) {
      entries.push({
        section: "f",
        eventId: row.eventId,
        position: row.position,
        pending: {
          predictionId: row.predictionId,
          churned: row.churned,
          observedAt: iso(row.observedAt),
          receivedAt: iso(row.receivedAt),
        },
      });
    }
  }
  if (room() > 0) {
    const after = from?.s === "r" ? from.k : null;
    for (const row of await customerOrphanRecordsPage(db, tenantId, customerId, after, room())) {
      entries.push({
        section: "r",
        record: {
          predictionId: row.predictionId,
          record: parseRecord(row.record),
          storedAt: iso(row.storedAt),
        },
      });
    }
  }
  const more = entries.length > limit;
  if (more) entries.pop();
  return { entries, more };
}

/**
 * One page of everything stored about one customer of the tenant (a data-subject access request): their
 * predictions with the model version, outcome and raw record, outcomes still waiting for a prediction, and
 * raw records naming them whose prediction is gone. Hourly aggregates are anonymous and not part of it;
 * predictions keep no explanations (reasons are computed at the edge and returned only to the caller).
 *
 * A page with nothing to answer is 404 NOT_FOUND, as is another tenant's customer. Each page returned is
 * audited as `customer.export` with the export id and the counts, never the customer's id; the audit
 * entry commits before the page is returned, so nothing leaves unaudited.
 */
export async function exportCustomerData(
  db: Db,
  audit: AuditContext,
  tenantId: string,
  customerId: string,
  options: { cursor?: string | undefined; limit: number },
  now = Date.now(),
): Promise<CustomerExport> {
  if (options.cursor !== undefined && options.cursor.length > CUSTOMER_EXPORT_CURSOR_MAX_LENGTH)
    throw new ChurnError("INVALID_REQUEST", "Invalid cursor: pass nextCursor unchanged");
  const from = options.cursor === undefined ? null : decodeCursor(options.cursor);
  const exportId = from?.e ?? newId("customerExport");
  // Read before the write transaction: a long history must not hold the database's write lock.
  const { entries, more } = await readEntries(db, tenantId, customerId, from, options.limit);
  // Another tenant's customer reads exactly like one never seen. A later page is never empty (one entry
  // more was read for the previous one) unless its data went in between: erased, or past its retention.
  if (entries.length === 0) throw new ChurnError("NOT_FOUND", "Nothing is stored about this customer");

  const page: CustomerExport = {
    exportId,
    customerId,
    exportedAt: iso(now),
    predictions: entries.flatMap((e) => (e.section === "p" ? [e.prediction] : [])),
    pendingOutcomes: entries.flatMap((e) => (e.section === "f" ? [e.pending] : [])),
    rawRecords: entries.flatMap((e) => (e.section === "r" ? [e.record] : [])),
    nextCursor: more && entries.length > 0 ? encodeCursor(cursorAfter(exportId, entries.at(-1)!)) : null,
  };
  await writeTransaction(db, (tx) =>
    appendAudit(tx, audit, {
      tenantId,
      action: "customer.export",
      targets: [{ type: "customer_export", id: exportId }],
      details: {
        page: from === null ? "first" : "next",
        predictions: page.predictions.length,
        pendingOutcomes: page.pendingOutcomes.length,
        rawRecords: page.rawRecords.length,
        more: page.nextCursor !== null,
      },
    }),
  );
  return page;
}
