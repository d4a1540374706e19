import { html } from "hono/html";
import { MAX_PAT_TTL_DAYS, type PersonalAccessTokenInfo } from "#shared/identity.ts";
import { csrfInput, emptyState, fmt, type Html, type PageOptions, pageHeader } from "../layout.ts";

/** A token just created: shown in this one response only. */
export interface ShownToken {
  name: string;
  token: string;
  expiresAt: string;
}

/** What the access tokens page shows, gathered by its handler through the identity module. */
export interface TokensData {
  tokens: PersonalAccessTokenInfo[];
  /** The token behind this console session, marked in the list. */
  sessionTokenId: string;
  csrfToken: string;
  created?: ShownToken | undefined;
  flash?: { kind: "ok" | "error"; text: string } | undefined;
}

const isLive = (t: PersonalAccessTokenInfo, now: number) =>
  t.revokedAt === null && Date.parse(t.expiresAt) > now;

/**
 * The signed-in person's own personal access tokens: how someone who signs in through single sign-on (and
 * has no invitation code) gets a token for the CLI or the API. Console sessions are tokens too, listed here.
 */
export function tokensView(data: TokensData, now = Date.now()): PageOptions {
  const { tokens, csrfToken } = data;
  const live = tokens.filter((t) => isLive(t, now));
  const ended = tokens.filter((t) => !isLive(t, now));
  const createdPanel = data.created
    ? html`<section class="card secret" aria-labelledby="new-token-h" data-testid="token-panel">
<h2 id="new-token-h">Token created: ${data.created.name}</h2>
<p>Copy the token now: it is shown only once and cannot be recovered (only its hash is stored). It works until ${fmt.date(data.created.expiresAt)}, with your role's permissions.</p>
<dl class="kv"><div><dt>Token</dt><dd class="copy-row"><code id="new-token" data-testid="new-token">${data.created.token}</code><button type="button" class="btn btn-sm btn-secondary" data-copy="new-token">Copy</button><span class="copy-status" role="status" aria-live="polite"></span></dd></div></dl>
</section>`
    : "";

  const row = (t: PersonalAccessTokenInfo, actions: boolean): Html => {
    const current = t.id === data.sessionTokenId;
    const status = t.revokedAt
      ? html`<span class="badge badge-revoked">Revoked</span>`
      : isLive(t, now)
        ? html`<span class="badge badge-ok">${current ? "This session" : "Active"}</span>`
        : html`<span class="badge badge-warn">Expired</span>`;
    const revoke = html`<form method="post" action="/console/tokens/${t.id}/revoke">${csrfInput(csrfToken)}<button class="btn btn-sm btn-danger-ghost" type="submit">${current ? html`Sign out<span class="sr-only"> of this session</span>` : html`Revoke<span class="sr-only"> ${t.name} (${t.id})</span>`}</button></form>`;
    return html`<tr data-token="${t.id}">
<th scope="row">${t.name}<code class="block small muted">${t.id}</code></th>
<td class="small nowrap" title="${fmt.date(t.createdAt)}">${t.createdAt.slice(0, 10)}</td>
<td class="small nowrap" title="${fmt.date(t.expiresAt)}">${t.expiresAt.slice(0, 10)}</td>
<td>${status}</td>
${actions ? html`<td class="actions-cell">${revoke}</td>` : ""}
</tr>`;
  };
  const table = (list: PersonalAccessTokenInfo[], caption: string, actions: boolean) =>
    html`<div class="table-wrap" tabindex="0"><table class="table stacked"><caption class="sr-only">${caption}</caption>
<thead><tr><th scope="col">Token</th><th scope="col">Created</th><th scope="col">Expires</th><th scope="col">Status</th>${actions ? html`<th scope="col"><span class="sr-only">Actions</span></th>` : ""}</tr></thead>
<tbody>${list.map((t) => row(t, actions))}</tbody></table></div>`;

  return {
    title: "Access tokens",
    active: "tokens",
    flash: data.flash,
    body: html`${pageHeader("Access tokens", "Your personal access tokens for the CLI and the API (churn_pat_…). They act as you, with your role, until they expire or you revoke them.")}
${createdPanel}
<section class="card" aria-labelledby="new-h">
<h2 id="new-h">New token</h2>
<form method="post" action="/console/tokens" class="stack">
  ${csrfInput(csrfToken)}
  <div class="inline-fields">
    <div class="field"><label for="token-name">Name</label><input id="token-name" name="name" required maxlength="64" placeholder="e.g. laptop CLI"></div>
    <div class="field"><label for="token-ttl">Expires after (days)</label><input id="token-ttl" name="ttlDays" type="number" min="1" max="${MAX_PAT_TTL_DAYS}" step="1" value="30" required></div>
  </div>
  <div><button class="btn btn-primary" type="submit">Create token</button></div>
</form>
</section>
<section class="card" aria-labelledby="tokens-h">
<h2 id="tokens-h">Your tokens</h2>
${live.length === 0 ? emptyState("No active tokens", "Create one above for the CLI or a script.") : table(live, "Active tokens", true)}
${ended.length > 0 ? html`<details class="revoked"><summary>Revoked and expired tokens (${ended.length})</summary>${table(ended, "Revoked and expired tokens", false)}</details>` : ""}
</section>`,
  };
}
