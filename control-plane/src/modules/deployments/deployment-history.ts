import type { DeploymentHistoryEntry } from "#shared/deployment-history.ts";
import { toIso } from "#shared/time.ts";
import type { Db } from "../../platform/db/client.ts";
import type { DeploymentHistoryRow } from "../../platform/db/schema/index.ts";
import type { HistoryConfig } from "./deployments.ts";
import { revisionAt, revisionStart, revisionsBefore, versionNames } from "./queries/history.ts";

type VersionRef = { versionId: string; name: string; version: number };

/** Names and numbers of the versions the rows mention, in one query. */
async function versionRefs(db: Db, tenantId: string, rows: DeploymentHistoryRow[]) {
  const ids = new Set<string>();
  for (const row of rows) {
    const config = JSON.parse(row.config) as HistoryConfig;
    ids.add(config.production);
    if (config.canary) ids.add(config.canary.versionId);
    for (const id of config.shadows) ids.add(id);
  }
  const refs = new Map<string, VersionRef>();
  if (ids.size === 0) return refs;
  const found = await versionNames(db, tenantId, [...ids]);
  for (const ref of found) refs.set(ref.versionId, ref);
  return refs;
}

function toEntry(
  row: DeploymentHistoryRow,
  refs: Map<string, VersionRef>,
  validUntil: number | null,
): DeploymentHistoryEntry {
  const config = JSON.parse(row.config) as HistoryConfig;
  // Versions are immutable and never deleted, so every id resolves; the fallback only guards old data.
  const ref = (id: string): VersionRef => refs.get(id) ?? { versionId: id, name: "", version: 0 };
  return {
    revision: row.revision,
    production: ref(config.production),
    canary: config.canary ? { ...ref(config.canary.versionId), weight: config.canary.weight } : null,
    shadows: config.shadows.map(ref),
    reason: row.reason,
    actor: row.actor,
    validFrom: toIso(row.validFrom),
    validUntil: validUntil !== null ? toIso(validUntil) : null,
  };
}

/** The revision that was serving the tenant at `atMs`: the latest one that had started by then. */
export async function deploymentServingAt(
  db: Db,
  tenantId: string,
  atMs: number,
): Promise<DeploymentHistoryEntry | null> {
  const row = await revisionAt(db, tenantId, atMs);
  if (!row) return null;
  const until = await revisionStart(db, tenantId, row.revision + 1);
  return toEntry(row, await versionRefs(db, tenantId, [row]), until);
}

/** The tenant's revisions, newest first; `cursor` is the revision the previous page ended after. */
export async function listDeploymentHistory(
  db: Db,
  tenantId: string,
  page: { cursor?: number | undefined; limit: number },
): Promise<{ entries: DeploymentHistoryEntry[]; nextCursor: number | null }> {
  const rows = await revisionsBefore(db, tenantId, page.cursor, page.limit + 1);
  const shown = rows.slice(0, page.limit);
  if (shown.length === 0) return { entries: [], nextCursor: null };
  const refs = await versionRefs(db, tenantId, shown);
  let until = await revisionStart(db, tenantId, shown[0]!.revision + 1);
  const entries = shown.map((row) => {
    const entry = toEntry(row, refs, until);
    until = row.validFrom;
    return entry;
  });
  return { entries, nextCursor: rows.length > page.limit ? shown[shown.length - 1]!.revision : null };
}
