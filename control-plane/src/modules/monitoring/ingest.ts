import type { EdgeEvent, FeedbackEvent, PredictionEvent, RejectedEvent } from "#shared/events.ts";
import { mergeSketch, type Sketch } from "#shared/monitoring.ts";
import { DAY_MS, HOUR_MS } from "#shared/time.ts";
import type { Db, Tx } from "../../platform/db/client.ts";
import { writeTransaction } from "../../platform/db/write-transaction.ts";
import { screenErasedItems } from "./erasure-tombstones.ts";
import {
  deletePendingItem,
  hasPendingFeedback,
  insertPendingFeedback,
  insertPredictionRows,
  insertRawRecords,
  labeledAtOf,
  latestPredictionsOfCustomers,
  pendingForCustomers,
  pendingForPredictions,
  recordEventIds,
  setLabels,
  storedHour,
  upsertHour,
} from "./queries/ingest.ts";
import { getMonitoringSettings } from "./settings.ts";

/**
 * Feedback that names only a customer joins that customer's latest prediction made at most this long
 * before the outcome was observed; older predictions are not what the outcome answers.
 */
export const LABEL_WINDOW_DAYS = 120;

/** Rows per multi-row INSERT: well under SQLite's bound-parameter limit. */
const INSERT_CHUNK = 500;

/** The start of the hour holding `ms` (epoch ms). */
export const hourOf = (ms: number): number => Math.floor(ms / HOUR_MS) * HOUR_MS;

/** Per-variant totals kept in `monitoring_hourly.variants`: traffic and the business figures' sums. */
export interface VariantTotals {
  records: number;
  contacts: number;
  /** Σ p over scored records: revenue at risk per unit of customer value. */
  probabilitySum: number;
  /** Σ p over contacted records: expected saves per unit of value and acceptance. */
  contactedProbabilitySum: number;
}
export type VariantTotalsByVariant = Partial<Record<"production" | "canary", VariantTotals>>;

/** The variant's totals in `into`, created empty on first use. */
export function variantTotals(into: VariantTotalsByVariant, variant: "production" | "canary"): VariantTotals {
  let t = into[variant];
  if (!t) {
    t = { records: 0, contacts: 0, probabilitySum: 0, contactedProbabilitySum: 0 };
    into[variant] = t;
  }
  return t;
}

export interface IngestResult {
  accepted: number;
  duplicates: number;
  /** New (not redelivered) events by type. */
  events: { prediction: number; feedback: number; rejected: number };
  /** Scored records, feedback items and rejected records in the new events. */
  records: { prediction: number; feedback: number; rejected: number };
  /** Feedback items joined to a prediction now (this batch's and earlier pending ones). */
  labeled: number;
  /** Feedback items kept pending because their prediction has not arrived. */
  pending: number;
  /** Sketches that did not fit the hour's layout (a version's reference never changes, so: a bug upstream). */
  incompatibleSketches: number;
  /**
   * Scored records and feedback items of the new events dropped because their customer (or prediction) was
   * erased at or after the time the event was made: they sat in the edge's queue while the erasure ran.
   */
  erased: { predictions: number; feedback: number };
}

interface HourGroup {
  tenantId: string;
  versionId: string;
  hour: number;
  records: number;
  contacts: number;
  variants: VariantTotalsByVariant;
  sketch: Sketch | null;
  rejectedRecords: number;
  rejectedFields: Record<string, number>;
}

/**
 * What `ingested_events.payload` keeps: enough to recognise the event, never its sketch, records or the
 * customer ids in feedback (those live only in `predictions` and `pending_feedback`, where an erasure
 * reaches them).
 */
function storedPayload(e: EdgeEvent): string {
  if (e.type === "rejected") return JSON.stringify(e);
  if (e.type === "feedback") return JSON.stringify({ type: e.type, at: e.at, items: e.feedback.length });
  return JSON.stringify({
    type: e.type,
    versionId: e.versionId,
    variant: e.variant,
    at: e.at,
    predictionIds: e.predictions.map((p) => p.predictionId),
  });
}

const timeOf = (iso: string, fallback: number): number => {
  const ms = Date.parse(iso);
  return Number.isFinite(ms) ? ms : fallback;
};

/**
 * Stores a delivered batch in one transaction: events already stored (a redelivery) count as duplicates
 * and change nothing. New prediction events merge their sketch into the tenant × version × hour row and
 * add one `predictions` row per scored record (plus raw records when the tenant enabled them); rejected
 * events add to the hour's rejected counts; feedback labels predictions or waits in `pending_feedback`.
 * Items of customers erased at or after the time the event was made are dropped (`screenErasedItems`); the hourly
 * aggregates still count them, as they keep counting what an erasure deleted.
 */
export async function ingestEvents(db: Db, events: EdgeEvent[], now = Date.now()): Promise<IngestResult> {
  return writeTransaction(db, (tx) => ingestInTransaction(tx, events, now));
}

async function ingestInTransaction(tx: Tx, events: EdgeEvent[], now: number): Promise<IngestResult> {
  const result: IngestResult = {
    accepted: 0,
    duplicates: 0,
    events: { prediction: 0, feedback: 0, rejected: 0 },
    records: { prediction: 0, feedback: 0, rejected: 0 },
    labeled: 0,
    pending: 0,
    incompatibleSketches: 0,
    erased: { predictions: 0, feedback: 0 },
  };
  // Screened before anything is stored, so even the delivered-event bookkeeping never names a dropped item.
  const screened = await screenErasedItems(tx, events);
  const inserted = await recordEventIds(
    tx,
    screened.events.map((e) => ({
      eventId: e.eventId,
      tenantId: e.tenantId,
      type: e.type,
      occurredAt: timeOf(e.at, now),
      receivedAt: now,
      payload: storedPayload(e),
    })),
  );
  const fresh = new Set(inserted);
  result.accepted = fresh.size;
  result.duplicates = events.length - fresh.size;

  // An id repeated inside the batch is stored once, so it is processed once.
  const newEvents: EdgeEvent[] = [];
  const keptEvents: EdgeEvent[] = [];
  for (const [i, e] of events.entries()) {
    if (!fresh.delete(e.eventId)) continue;
    newEvents.push(e);
    keptEvents.push(screened.events[i]!);
    result.events[e.type]++;
    result.erased.predictions += screened.erased[i]!.predictions;
    result.erased.feedback += screened.erased[i]!.feedback;
  }
  // Aggregates count every scored record; only what names a customer is screened.
  const predictionEvents = newEvents.filter((e): e is PredictionEvent => e.type === "prediction");
  const rejectedEvents = newEvents.filter((e): e is RejectedEvent => e.type === "rejected");
  const keptPredictionEvents = keptEvents.filter((e): e is PredictionEvent => e.type === "prediction");
  const feedbackEvents = keptEvents.filter((e): e is FeedbackEvent => e.type === "feedback");

  const groups = new Map<string, HourGroup>();
  const groupOf = (tenantId: string, versionId: string, at: number): HourGroup => {
    const hour = hourOf(at);
    const key = `${tenantId}\u0000${versionId}\u0000${hour}`;
    let g = groups.get(key);
    if (!g) {
      g = {
        tenantId,
        versionId,
        hour,
        records: 0,
        contacts: 0,
        variants: {},
        sketch: null,
        rejectedRecords: 0,
        rejectedFields: {},
      };
      groups.set(key, g);
    }
    return g;
  };

  for (const e of predictionEvents) {
    const at = timeOf(e.at, now);
    const g = groupOf(e.tenantId, e.versionId, at);
    const totals = variantTotals(g.variants, e.variant);
    for (const p of e.predictions) {
      totals.records++;
      totals.probabilitySum += p.probability;
      if (p.contact) {
        totals.contacts++;
        totals.contactedProbabilitySum += p.probability;
      }
    }
    const contacts = e.predictions.reduce((n, p) => n + (p.contact ? 1 : 0), 0);
    g.records += e.predictions.length;
    g.contacts += contacts;
    result.records.prediction += e.predictions.length;
    if (e.sketch && !mergeInto(g, e.sketch)) result.incompatibleSketches++;
  }
  for (const e of rejectedEvents) {
    const g = groupOf(e.tenantId, e.versionId, timeOf(e.at, now));
    g.rejectedRecords += e.records;
    for (const [field, n] of Object.entries(e.fields)) addCount(g.rejectedFields, field, n);
    result.records.rejected += e.records;
  }

  await writeHours(tx, [...groups.values()], result);
  await insertPredictions(tx, keptPredictionEvents, now);
  result.labeled += await resolvePending(tx, keptPredictionEvents);
  const feedbackByTenant = new Map<string, PendingItem[]>();
  for (const e of feedbackEvents) {
    let items = feedbackByTenant.get(e.tenantId);
    if (!items) {
      items = [];
      feedbackByTenant.set(e.tenantId, items);
    }
    for (const [position, item] of e.feedback.entries()) {
      items.push({
        eventId: e.eventId,
        position,
        customerId: item.customerId ?? null,
        predictionId: item.predictionId ?? null,
        churned: item.churned,
        observedAt: timeOf(item.observedAt, timeOf(e.at, now)),
      });
    }
  }
  result.records.feedback += result.erased.feedback;
  for (const [tenantId, items] of feedbackByTenant) {
    result.records.feedback += items.length;
    const matched = await applyLabels(tx, tenantId, items);
    // An item naming neither a prediction nor a customer can never join: it is counted, not kept.
    const waiting = items.filter((item, i) => !matched[i] && (item.predictionId || item.customerId));
    result.labeled += matched.filter(Boolean).length;
    result.pending += waiting.length;
    if (waiting.length > 0) {
      await insertPendingFeedback(
        tx,
        tenantId,
        waiting.map((w) => [
          w.eventId,
          w.position,
          w.customerId,
          w.predictionId,
          w.churned ? 1 : 0,
          w.observedAt,
        ]),
        now,
      );
    }
  }
  return result;
}

/** An own-property increment, safe for keys such as "__proto__". */
function addCount(into: Record<string, number>, key: string, n: number): void {
  const before = Object.hasOwn(into, key) ? into[key]! : 0;
  Object.defineProperty(into, key, {
    value: before + n,
    writable: true,
    enumerable: true,
    configurable: true,
  });
}

/** Whether `mergeSketch(into, from)` would succeed: checked first, since a failed merge leaves `into` half-added. */
function mergeable(into: Sketch, from: Sketch): boolean {
  if (into.score.counts.length !== from.score.counts.length) return false;
  if (into.score.sums.length !== from.score.sums.length) return false;
  for (const [name, f] of Object.entries(from.features)) {
    const target = into.features[name];
    if (!target) continue;
    if (target.type !== f.type) return false;
    if (target.type === "numeric" && f.type === "numeric" && target.counts.length !== f.counts.length)
      return false;
  }
  return true;
}

/** Merges `sketch` into the group's; false (and nothing merged) when the layouts differ. */
function mergeInto(g: { sketch: Sketch | null }, sketch: Sketch): boolean {
  if (!g.sketch) {
    g.sketch = structuredClone(sketch);
    return true;
  }
  if (!mergeable(g.sketch, sketch)) return false;
  mergeSketch(g.sketch, sketch);
  return true;
}

function addVariants(into: VariantTotalsByVariant, from: VariantTotalsByVariant): VariantTotalsByVariant {
  for (const variant of ["production", "canary"] as const) {
    const f = from[variant];
    if (!f) continue;
    const t = variantTotals(into, variant);
    t.records += f.records;
    t.contacts += f.contacts;
    t.probabilitySum += f.probabilitySum;
    t.contactedProbabilitySum += f.contactedProbabilitySum;
  }
  return into;
}

/**
 * Adds each group to its stored hour. Read-modify-write is safe: the ingest transaction is BEGIN IMMEDIATE,
 * so it holds the database's write lock from its first statement, and this process runs its write
 * transactions one at a time.
 */
async function writeHours(tx: Tx, groups: HourGroup[], result: IngestResult): Promise<void> {
  for (const g of groups) {
    const stored = await storedHour(tx, g.tenantId, g.versionId, g.hour);
    let sketch = g.sketch;
    let variants = g.variants;
    let rejectedFields = g.rejectedFields;
    if (stored) {
      const storedSketch = stored.sketch ? (JSON.parse(stored.sketch) as Sketch) : null;
      if (storedSketch && sketch) {
        const merged = { sketch: storedSketch };
        if (!mergeInto(merged, sketch)) result.incompatibleSketches++;
        sketch = merged.sketch;
      } else sketch = storedSketch ?? sketch;
      variants = addVariants(JSON.parse(stored.variants) as VariantTotalsByVariant, g.variants);
      rejectedFields = JSON.parse(stored.rejectedFields) as Record<string, number>;
      for (const [field, n] of Object.entries(g.rejectedFields)) addCount(rejectedFields, field, n);
    }
    const row = {
      records: (stored?.records ?? 0) + g.records,
      contacts: (stored?.contacts ?? 0) + g.contacts,
      variants: JSON.stringify(variants),
      sketch: sketch ? JSON.stringify(sketch) : null,
      rejectedRecords: (stored?.rejectedRecords ?? 0) + g.rejectedRecords,
      rejectedFields: JSON.stringify(rejectedFields),
    };
    await upsertHour(tx, { tenantId: g.tenantId, versionId: g.versionId, hour: g.hour }, row);
  }
}

/**
 * One INSERT per table for the whole batch: the rows travel as a single JSON parameter that SQLite unpacks
 * with json_each. Binding tens of thousands of parameters through the query builder cost more than the
 * inserts themselves.
 */
async function insertPredictions(tx: Tx, events: PredictionEvent[], now: number): Promise<void> {
  const rows: (string | number | null)[][] = [];
  const raw: [string, string, string][] = [];
  const captures = new Map<string, boolean>();
  for (const e of events) {
    const predictedAt = timeOf(e.at, now);
    for (const p of e.predictions) {
      rows.push([
        e.tenantId,
        p.predictionId,
        p.customerId ?? null,
        e.versionId,
        e.variant,
        p.probability,
        p.contact ? 1 : 0,
        predictedAt,
      ]);
    }
    if (!e.records || e.records.length === 0) continue;
    let capture = captures.get(e.tenantId);
    if (capture === undefined) {
      capture = (await getMonitoringSettings(tx, e.tenantId)).rawRecords.enabled;
      captures.set(e.tenantId, capture);
    }
    if (!capture) continue;
    for (const [i, record] of e.records.entries()) {
      const p = e.predictions[i];
      if (!p) break;
      raw.push([e.tenantId, p.predictionId, JSON.stringify(record)]);
    }
  }
  if (rows.length > 0) await insertPredictionRows(tx, rows);
  if (raw.length > 0) await insertRawRecords(tx, raw, now);
}

/** One outcome, from a feedback event or from `pending_feedback`. */
interface PendingItem {
  eventId: string;
  position: number;
  customerId: string | null;
  predictionId: string | null;
  churned: boolean;
  observedAt: number;
}

/**
 * Labels the predictions the outcomes answer, in a few statements whatever their number: the prediction an
 * item names, else the customer's latest prediction made at or before `observedAt` and within the label
 * window. A later observation replaces an earlier one's label; an earlier one arriving late does not.
 * Returns, per item, whether its prediction was found.
 */
async function applyLabels(tx: Tx, tenantId: string, items: PendingItem[]): Promise<boolean[]> {
  const target: (string | null)[] = items.map(() => null);
  const labeledAt = new Map<string, number | null>();
  const named = items.flatMap((item, i) => (item.predictionId ? [[item.predictionId, i] as const] : []));
  for (let c = 0; c < named.length; c += INSERT_CHUNK) {
    const chunk = named.slice(c, c + INSERT_CHUNK);
    const found = await labeledAtOf(
      tx,
      tenantId,
      chunk.map(([id]) => id),
    );
    for (const f of found) labeledAt.set(f.predictionId, f.labeledAt);
    for (const [id, i] of chunk) if (labeledAt.has(id)) target[i] = id;
  }
  const byCustomer = items.flatMap((item, i) =>
    !item.predictionId && item.customerId ? [[item.customerId, item.observedAt, i] as const] : [],
  );
  if (byCustomer.length > 0) {
    const found = await latestPredictionsOfCustomers(tx, tenantId, byCustomer, LABEL_WINDOW_DAYS * DAY_MS);
    const unknown = new Set<string>();
    for (const f of found) {
      if (f.predictionId === null) continue;
      target[Number(f.i)] = f.predictionId;
      if (!labeledAt.has(f.predictionId)) unknown.add(f.predictionId);
    }
    const ids = [...unknown];
    for (let c = 0; c < ids.length; c += INSERT_CHUNK) {
      const rows = await labeledAtOf(tx, tenantId, ids.slice(c, c + INSERT_CHUNK));
      for (const r of rows) labeledAt.set(r.predictionId, r.labeledAt);
    }
  }
  // Oldest observation first, so the latest observation's label is the one left standing.
  const order = items.map((_, i) => i).sort((a, b) => items[a]!.observedAt - items[b]!.observedAt);
  const updates = new Map<string, [string, number, number]>();
  for (const i of order) {
    const id = target[i];
    if (!id) continue;
    const current = labeledAt.get(id) ?? null;
    if (current !== null && current > items[i]!.observedAt) continue;
    labeledAt.set(id, items[i]!.observedAt);
    updates.set(id, [id, items[i]!.churned ? 1 : 0, items[i]!.observedAt]);
  }
  if (updates.size > 0) {
    await setLabels(tx, tenantId, [...updates.values()]);
  }
  return target.map((id) => id !== null);
}

/** Joins feedback that waited for its prediction to the predictions of this batch; returns how many joined. */
async function resolvePending(tx: Tx, events: PredictionEvent[]): Promise<number> {
  const byTenant = new Map<string, { predictionIds: Set<string>; customerIds: Set<string> }>();
  for (const e of events) {
    let t = byTenant.get(e.tenantId);
    if (!t) {
      t = { predictionIds: new Set(), customerIds: new Set() };
      byTenant.set(e.tenantId, t);
    }
    for (const p of e.predictions) {
      t.predictionIds.add(p.predictionId);
      if (p.customerId) t.customerIds.add(p.customerId);
    }
  }
  let labeled = 0;
  for (const [tenantId, ids] of byTenant) {
    if (!(await hasPendingFeedback(tx, tenantId))) continue;
    const waiting: PendingItem[] = [];
    const predictionIds = [...ids.predictionIds];
    for (let i = 0; i < predictionIds.length; i += INSERT_CHUNK) {
      waiting.push(...(await pendingForPredictions(tx, tenantId, predictionIds.slice(i, i + INSERT_CHUNK))));
    }
    const customerIds = [...ids.customerIds];
    for (let i = 0; i < customerIds.length; i += INSERT_CHUNK) {
      waiting.push(...(await pendingForCustomers(tx, tenantId, customerIds.slice(i, i + INSERT_CHUNK))));
    }
    const matched = await applyLabels(tx, tenantId, waiting);
    for (const [i, item] of waiting.entries()) {
      if (!matched[i]) continue;
      labeled++;
      await deletePendingItem(tx, item.eventId, item.position);
    }
  }
  return labeled;
}
