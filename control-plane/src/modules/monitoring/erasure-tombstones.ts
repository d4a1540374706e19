import { createHash } from "node:crypto";
import type { EdgeEvent, FeedbackEvent, PredictionEvent } from "#shared/events.ts";
import type { Tx } from "../../platform/db/client.ts";
import { erasedAtOf, tenantsWithTombstones } from "./queries/erasure.ts";

/** What an erasure names: a customer id, or a prediction id for records sent without one. */
export type ErasedSubjectKind = "customer" | "prediction";
type Subject = readonly [ErasedSubjectKind, string];

/**
 * The tombstone key of one erased subject. The tenant is part of it, so two tenants' equal customer ids
 * never share a row and a dictionary of likely ids has to be hashed again for every tenant. The id itself
 * is never stored: it is exactly what the erasure removed.
 */
export function subjectHash(tenantId: string, kind: ErasedSubjectKind, id: string): string {
  return createHash("sha256").update(`${tenantId}\u0000${kind}\u0000${id}`).digest("hex");
}

/** Items of one event dropped because an erasure had already reached them. */
export interface ErasedItems {
  predictions: number;
  feedback: number;
}

export interface ScreenedEvents {
  /** The events in their order, each without the items of erased subjects. */
  events: EdgeEvent[];
  /** Aligned with `events`: what was dropped from each. */
  erased: ErasedItems[];
}

function predictionSubjects(e: PredictionEvent, i: number): Subject[] {
  const p = e.predictions[i]!;
  const subjects: Subject[] = [["prediction", p.predictionId]];
  if (p.customerId !== undefined) subjects.push(["customer", p.customerId]);
  // The raw record is what the erasure also finds by its own customerId field.
  const recorded = e.records?.[i]?.["customerId"];
  if (typeof recorded === "string" && recorded !== p.customerId) subjects.push(["customer", recorded]);
  return subjects;
}

function feedbackSubjects(item: FeedbackEvent["feedback"][number]): Subject[] {
  const subjects: Subject[] = [];
  if (item.customerId !== undefined) subjects.push(["customer", item.customerId]);
  if (item.predictionId !== undefined) subjects.push(["prediction", item.predictionId]);
  return subjects;
}

function subjectsOf(e: EdgeEvent): Subject[][] {
  if (e.type === "prediction") return e.predictions.map((_, i) => predictionSubjects(e, i));
  if (e.type === "feedback") return e.feedback.map(feedbackSubjects);
  return [];
}

/**
 * Removes from delivered events the items an erasure has already reached: a scored record (with its raw
 * record) or a feedback item that names an erased customer or prediction, in an event the edge made at or
 * before the moment that erasure was requested. Those sat in the edge's queue while the erasure ran.
 * Items of events made after it are data the tenant sent after the erasure, and are kept: stopping them is
 * the tenant's part of the request. An event time that does not parse counts as before (dropping is the
 * safe side). Rejected events carry no customer data and pass unchanged.
 */
export async function screenErasedItems(tx: Tx, events: EdgeEvent[]): Promise<ScreenedEvents> {
  const erased = events.map(() => ({ predictions: 0, feedback: 0 }));
  const tenantIds = [...new Set(events.filter((e) => e.type !== "rejected").map((e) => e.tenantId))];
  const screenedTenants = await tenantsWithTombstones(tx, tenantIds);
  if (screenedTenants.size === 0) return { events, erased };

  const hashes = new Map<string, string>();
  const hashOf = (tenantId: string, [kind, id]: Subject): string => {
    const key = `${tenantId}\u0000${kind}\u0000${id}`;
    let hash = hashes.get(key);
    if (hash === undefined) {
      hash = subjectHash(tenantId, kind, id);
      hashes.set(key, hash);
    }
    return hash;
  };
  const itemSubjects = events.map((e) => (screenedTenants.has(e.tenantId) ? subjectsOf(e) : []));
  const wanted = new Map<string, Set<string>>();
  for (const [i, e] of events.entries()) {
    for (const subjects of itemSubjects[i]!) {
      for (const s of subjects) {
        let set = wanted.get(e.tenantId);
        if (!set) {
          set = new Set();
          wanted.set(e.tenantId, set);
        }
        set.add(hashOf(e.tenantId, s));
      }
    }
  }
  const erasedAt = new Map<string, Map<string, number>>();
  for (const [tenantId, set] of wanted) erasedAt.set(tenantId, await erasedAtOf(tx, tenantId, [...set]));

  const screened = events.map((e, i): EdgeEvent => {
    const found = erasedAt.get(e.tenantId);
    if (!found || found.size === 0) return e;
    const at = Date.parse(e.at);
    const madeAt = Number.isFinite(at) ? at : Number.NEGATIVE_INFINITY;
    const keep = itemSubjects[i]!.map(
      (subjects) =>
        !subjects.some((s) => {
          const erasureAt = found.get(hashOf(e.tenantId, s));
          return erasureAt !== undefined && madeAt <= erasureAt;
        }),
    );
    const dropped = keep.filter((k) => !k).length;
    if (dropped === 0) return e;
    if (e.type === "prediction") {
      erased[i]!.predictions = dropped;
      return {
        ...e,
        predictions: e.predictions.filter((_, j) => keep[j]),
        ...(e.records ? { records: e.records.filter((_, j) => keep[j] === true) } : {}),
      };
    }
    if (e.type === "feedback") {
      erased[i]!.feedback = dropped;
      return { ...e, feedback: e.feedback.filter((_, j) => keep[j]) };
    }
    return e;
  });
  return { events: screened, erased };
}
