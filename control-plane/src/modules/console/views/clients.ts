import { html } from "hono/html";
import type { ApiClient } from "#shared/identity.ts";
import { SCOPES } from "#shared/scopes.ts";
import { csrfInput, emptyState, fmt, type Html, type PageOptions, pageHeader } from "../layout.ts";

const SCOPE_HELP: Record<string, string> = {
  predict: "score records at the edge",
  "feedback:write": "report outcomes at the edge",
  "models:read": "read models and the deployment",
  "models:publish": "publish model versions",
  "deployments:write": "change deployments (CI)",
  "retraining:run": "run retraining jobs",
};

function scopeBoxes(prefix: string, checked: readonly string[]): Html {
  return html`<fieldset class="scopes"><legend>Scopes</legend>${SCOPES.map(
    (s) =>
      html`<label class="check"><input type="checkbox" name="scopes" value="${s}"${checked.includes(s) ? " checked" : ""} id="${prefix}-${s}"><span><code>${s}</code> <span class="muted small">${SCOPE_HELP[s] ?? ""}</span></span></label>`,
  )}</fieldset>`;
}

function limitFields(prefix: string, limit: ApiClient["rateLimit"], quota: number | null): Html {
  return html`<fieldset class="limits"><legend>Limits at the edge <span class="muted">(optional; empty leaves only the tenant's)</span></legend>
<div class="inline-fields">
<div class="field"><label for="${prefix}-rate">Requests per second</label><input id="${prefix}-rate" name="ratePerSecond" type="number" min="0.001" max="100000" step="any" value="${limit?.ratePerSecond ?? ""}"></div>
<div class="field"><label for="${prefix}-burst">Burst</label><input id="${prefix}-burst" name="burst" type="number" min="1" max="1000000" step="1" value="${limit?.burst ?? ""}"></div>
<div class="field"><label for="${prefix}-quota">Predictions per month</label><input id="${prefix}-quota" name="monthlyPredictionQuota" type="number" min="0" max="1000000000000" step="1" value="${quota ?? ""}"></div>
</div></fieldset>`;
}

export interface ShownSecret {
  clientId: string;
  clientName: string;
  secret: string;
  rotated: boolean;
}

function dialog(
  csrfToken: string,
  id: string,
  title: string,
  action: string,
  body: Html,
  submit: string,
  danger = false,
): Html {
  const cancel = html`<button type="button" class="btn btn-ghost" data-close>Cancel</button>`;
  const confirm = html`<button type="submit" class="btn ${danger ? "btn-danger" : "btn-primary"}">${submit}</button>`;
  const form = html`<form method="post" action="${action}" class="stack">${csrfInput(csrfToken)}<h2 id="${id}-title">${title}</h2>${body}<div class="dialog-actions">${cancel}${confirm}</div></form>`;
  return html`<dialog id="${id}" class="dialog" aria-labelledby="${id}-title">${form}</dialog>`;
}

/** What the clients page shows, gathered by its handler through the identity module. */
export interface ClientsData {
  clients: ApiClient[];
  canWrite: boolean;
  csrfToken: string;
  /** A secret just created or rotated: shown in this one response only. */
  secret?: ShownSecret | undefined;
  flash?: { kind: "ok" | "error"; text: string } | undefined;
}

/** The API clients page: active and revoked clients, and (for writers) the forms that change them. */
export function clientsView(options: ClientsData): PageOptions {
  const { clients, canWrite, csrfToken } = options;
  const active = clients.filter((x) => x.revokedAt === null);
  const revoked = clients.filter((x) => x.revokedAt !== null);
  const secretPanel = options.secret
    ? html`<section class="card secret" aria-labelledby="secret-h" data-testid="secret-panel">
<h2 id="secret-h">${options.secret.rotated ? "New secret" : "Client created"}: ${options.secret.clientName}</h2>
<p>Copy the secret now: it is shown only once and cannot be recovered (only a hash is stored).${options.secret.rotated ? " The previous secret keeps working until the overlap ends." : ""}</p>
<dl class="kv"><div><dt>Client id</dt><dd><code id="new-client-id">${options.secret.clientId}</code></dd></div>
<div><dt>Client secret</dt><dd class="copy-row"><code id="new-client-secret" data-testid="client-secret">${options.secret.secret}</code><button type="button" class="btn btn-sm btn-secondary" data-copy="new-client-secret">Copy</button><span class="copy-status" role="status" aria-live="polite"></span></dd></div></dl>
</section>`
    : "";

  const createForm = canWrite
    ? html`<section class="card" aria-labelledby="create-h">
<h2 id="create-h">New API client</h2>
<form method="post" action="/console/clients" class="create-form">
  ${csrfInput(csrfToken)}
  <div class="stack">
    <div class="field"><label for="new-name">Name</label><input id="new-name" name="name" required maxlength="64" placeholder="e.g. crm-scoring"></div>
    ${limitFields("new", null, null)}
    <div><button class="btn btn-primary" type="submit">Create client</button></div>
  </div>
  ${scopeBoxes("new", ["predict"])}
</form>
</section>`
    : html`<p class="note" role="note">Your role can review API clients but not change them.</p>`;

  /** The edit, rotate and revoke dialogs of one client. */
  const dialogs = (client: ApiClient) => {
    const id = client.id;
    const name = html`<div class="field"><label for="edit-${id}-name">Name</label><input id="edit-${id}-name" name="name" required maxlength="64" value="${client.name}"></div>`;
    const scopesNote = html`<p class="muted small">Narrowed scopes apply at once here; tokens already issued keep theirs at the edge until they expire (15 minutes).</p>`;
    const overlap = html`<div class="field"><label for="rotate-${id}-overlap">Keep the old secret working for</label><select id="rotate-${id}-overlap" name="overlapHours"><option value="0">No overlap: it stops now</option><option value="1">1 hour</option><option value="24" selected>24 hours</option><option value="168">7 days</option></select></div>`;
    const revokeText = html`<p>The secret stops working now and the edge refuses the client's tokens within seconds. This cannot be undone.</p><label class="check"><input type="checkbox" name="confirm" value="yes" required><span>I understand that ${client.name} stops working</span></label>`;
    const edit = html`${name}${scopeBoxes(`edit-${id}`, client.scopes)}${limitFields(`edit-${id}`, client.rateLimit, client.monthlyPredictionQuota)}${scopesNote}`;
    return html`${dialog(csrfToken, `edit-${id}`, `Edit ${client.name}`, `/console/clients/${id}`, edit, "Save changes")}
${dialog(csrfToken, `rotate-${id}`, `Rotate the secret of ${client.name}`, `/console/clients/${id}/rotate`, overlap, "Rotate")}
${dialog(csrfToken, `revoke-${id}`, `Revoke ${client.name}?`, `/console/clients/${id}/revoke`, revokeText, "Revoke client", true)}`;
  };

  const row = (client: ApiClient) => {
    const isRevoked = client.revokedAt !== null;
    const actions =
      canWrite && !isRevoked
        ? html`<div class="row-actions">
<button type="button" class="btn btn-sm btn-secondary" data-open="edit-${client.id}" aria-haspopup="dialog">Edit</button>
<button type="button" class="btn btn-sm btn-secondary" data-open="rotate-${client.id}" aria-haspopup="dialog">Rotate</button>
<button type="button" class="btn btn-sm btn-danger-ghost" data-open="revoke-${client.id}" aria-haspopup="dialog">Revoke</button>
${dialogs(client)}
</div>`
        : "";
    return html`<tr data-client="${client.id}">
<th scope="row">${client.name}<code class="block small muted">${client.id}</code></th>
<td>${client.scopes.map((s) => html`<span class="chip">${s}</span>`)}</td>
<td class="small">${client.rateLimit ? `${fmt.int(client.rateLimit.ratePerSecond)}/s, burst ${fmt.int(client.rateLimit.burst)}` : html`<span class="muted">tenant's</span>`}${client.monthlyPredictionQuota !== null ? html`<span class="block">${fmt.int(client.monthlyPredictionQuota)} a month</span>` : ""}</td>
<td class="small nowrap" title="${fmt.date(client.createdAt)}">${client.createdAt.slice(0, 10)}</td>
<td>${isRevoked ? html`<span class="badge badge-revoked">Revoked</span>` : client.previousSecretExpiresAt ? html`<span class="badge badge-warn" title="Old secret accepted until ${client.previousSecretExpiresAt}">Rotating</span>` : html`<span class="badge badge-ok">Active</span>`}</td>
${canWrite ? html`<td class="actions-cell">${actions}</td>` : ""}
</tr>`;
  };

  const table = (list: ApiClient[], caption: string) =>
    html`<div class="table-wrap" tabindex="0"><table class="table clients stacked"><caption class="sr-only">${caption}</caption>
<thead><tr><th scope="col">Client</th><th scope="col">Scopes</th><th scope="col">Limits</th><th scope="col">Created</th><th scope="col">Status</th>${canWrite ? html`<th scope="col"><span class="sr-only">Actions</span></th>` : ""}</tr></thead>
<tbody>${list.map(row)}</tbody></table></div>`;

  return {
    title: "API clients",
    active: "clients",
    flash: options.flash,
    body: html`${pageHeader("API clients", "Machine credentials (OAuth2 client credentials) for the edge and for CI.")}
${secretPanel}
<section class="card" aria-labelledby="clients-h">
<h2 id="clients-h">Active clients</h2>
${active.length === 0 ? emptyState("No active clients", canWrite ? "Create a client with the predict scope, then exchange its id and secret for a token at /v1/oauth/token." : "An owner or admin creates clients here.") : table(active, "Active clients")}
${revoked.length > 0 ? html`<details class="revoked"><summary>Revoked clients (${revoked.length})</summary>${table(revoked, "Revoked clients")}</details>` : ""}
</section>
${createForm}`,
  };
}
