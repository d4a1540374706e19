import { html } from "hono/html";
import { AUDIT_ACTIONS, type AuditAction, type AuditEntry } from "#shared/audit.ts";
import type { User } from "#shared/identity.ts";
import type { ChainVerification } from "../../audit/audit-chain.ts";
import { emptyState, fmt, type PageOptions, pageHeader } from "../layout.ts";

/** Entries per page of the console's audit log. */
export const AUDIT_PAGE_SIZE = 25;

export interface AuditQuery {
  action?: AuditAction | undefined;
  actorId?: string | undefined;
  since?: string | undefined;
  until?: string | undefined;
  cursor?: number | undefined;
}

/** One readable line per action; the full details stay one click away. */
function summary(e: AuditEntry): string {
  const d = e.details as Record<string, unknown>;
  switch (e.action) {
    case "deployment.update":
    case "deployment.rollback": {
      const to = d["to"] as
        | { production?: string; canary?: string | null; weight?: number | null }
        | undefined;
      const reason = typeof d["reason"] === "string" ? ` — “${d["reason"]}”` : "";
      return `revision ${d["revision"]}${to?.canary ? `, canary ${to.canary} at ${to.weight} %` : ", no canary"}${reason}`;
    }
    case "client.create":
    case "client.revoke":
      return typeof d["name"] === "string" ? `client “${d["name"]}”` : "";
    case "pat.create":
    case "pat.revoke":
      return typeof d["name"] === "string" ? `token “${d["name"]}”` : "";
    default:
      return "";
  }
}

/** What the audit page shows, gathered by its handler through the modules' services. */
export interface AuditData {
  query: AuditQuery;
  page: { entries: AuditEntry[]; nextCursor: number | null };
  chain: ChainVerification;
  people: User[];
}

/** The audit page: the tenant's log, newest first, with filters and the chain's verification. */
export function auditView(view: AuditData): PageOptions {
  const { query: q, chain, people } = view;
  const result = view.page;
  const names = new Map(people.map((u) => [u.id, u.name === u.email ? u.email : `${u.name} (${u.email})`]));
  const params = new URLSearchParams();
  if (q.action) params.set("action", q.action);
  if (q.actorId) params.set("actorId", q.actorId);
  if (q.since) params.set("since", q.since);
  if (q.until) params.set("until", q.until);
  const filtered = params.size > 0;
  const next =
    result.nextCursor !== null
      ? `/console/audit?${new URLSearchParams([...params, ["cursor", String(result.nextCursor)]])}`
      : null;

  const checkpointNote = chain.checkpoint
    ? html`; it reaches the checkpoint of entry ${fmt.int(chain.checkpoint.seq)} signed ${chain.checkpoint.time}`
    : "";
  const chainBanner = chain.ok
    ? html`<div class="chain chain-ok" role="status" data-testid="chain-status"><strong>Chain verified.</strong> All ${fmt.int(chain.entries)} entries carry the audit key's signature and link back to the first${checkpointNote}; head <code>${chain.headHash.slice(0, 16)}…</code></div>`
    : chain.firstBad
      ? html`<div class="chain chain-bad" role="alert" data-testid="chain-status"><strong>Chain broken at entry ${chain.firstBad.seq}:</strong> ${chain.firstBad.reason}. Entries after it cannot be trusted; export the log and investigate.</div>`
      : html`<div class="chain chain-bad" role="alert" data-testid="chain-status"><strong>Chain incomplete:</strong> ${chain.checkpointProblem}. Export the log and investigate.</div>`;

  return {
    title: "Audit log",
    active: "audit",
    body: html`${pageHeader("Audit log", "Every change, who made it and why, in a tamper-evident hash chain.", html`<a class="btn btn-secondary" href="/console/audit/export" download>Export (JSON Lines)</a>`)}
${chainBanner}
<form method="get" action="/console/audit" class="filters card" aria-label="Filter the audit log">
  <div class="field"><label for="f-action">Action</label>
    <select id="f-action" name="action"><option value="">Any action</option>${AUDIT_ACTIONS.map((a) => html`<option value="${a}"${q.action === a ? " selected" : ""}>${a}</option>`)}</select></div>
  <div class="field"><label for="f-actor">Actor id</label><input id="f-actor" name="actorId" value="${q.actorId ?? ""}" placeholder="usr_… or cli_…" maxlength="64"></div>
  <div class="field"><label for="f-since">From</label><input id="f-since" name="since" type="date" value="${q.since ?? ""}"></div>
  <div class="field"><label for="f-until">To</label><input id="f-until" name="until" type="date" value="${q.until ?? ""}"></div>
  <div class="field field-actions"><button class="btn btn-primary" type="submit">Apply</button>${filtered ? html`<a class="btn btn-ghost" href="/console/audit">Clear</a>` : ""}</div>
</form>
${
  result.entries.length === 0
    ? emptyState(
        filtered ? "No entries match" : "No entries yet",
        filtered
          ? "Try a wider date range or another action."
          : "Changes made through the API or this console are recorded here.",
      )
    : html`<section class="card"><div class="table-wrap" tabindex="0"><table class="table audit">
<thead><tr><th scope="col">#</th><th scope="col">When</th><th scope="col">Action</th><th scope="col">Actor</th><th scope="col">Targets</th><th scope="col">Details</th></tr></thead>
<tbody>
${result.entries.map(
  (e) => html`<tr>
  <td class="num muted">${e.seq}</td>
  <td class="nowrap small">${fmt.date(e.createdAt)}</td>
  <td><span class="action action-${e.action.split(".")[0]}">${e.action}</span></td>
  <td class="small">${e.actor.type === "user" && names.has(e.actor.id) ? html`${names.get(e.actor.id)}<code class="block muted">${e.actor.id}</code>` : html`<code>${e.actor.type}:${e.actor.id}</code>`}</td>
  <td class="small">${e.targets.map((t) => html`<code class="block">${t.type}:${t.id}</code>`)}</td>
  <td class="small">${summary(e)}<details><summary>Details</summary><pre>${JSON.stringify({ details: e.details, requestId: e.requestId, ip: e.ip, hash: e.hash }, null, 2)}</pre></details></td>
</tr>`,
)}
</tbody></table></div>
<nav class="pager" aria-label="Pages">${q.cursor ? html`<a class="btn btn-ghost" href="/console/audit${params.size > 0 ? `?${params}` : ""}">Newest</a>` : ""}${next ? html`<a class="btn btn-secondary" href="${next}" rel="next">Older entries</a>` : html`<span class="muted small">End of the log</span>`}</nav>
</section>`
}`,
  };
}
