import { html } from "hono/html";
import { barePage, type Html } from "../layout.ts";

/**
 * Single sign-on for one tenant: a link to the start route of the protocol it has switched on (OpenID
 * Connect or SAML, never both) when the tenant is known (`?tenant=` in the sign-in URL, as the settings'
 * `signInUrl` shares it), else a field asking for the tenant id. A link, not a form, leaves for the
 * provider: the page's `form-action 'self'` would stop a form redirected there.
 */
export interface SsoChoice {
  tenantId?: string | undefined;
  /** The console route that starts the tenant's sign-in, when it has single sign-on switched on. */
  startPath?: string | undefined;
  /** Set when the tenant named has no single sign-on switched on. */
  unavailable?: boolean;
}

function ssoSection(sso: SsoChoice): Html {
  const body =
    sso.startPath && !sso.unavailable
      ? html`<a class="btn btn-secondary btn-block" href="${sso.startPath}">Sign in with SSO</a>`
      : html`${sso.unavailable ? html`<div class="flash flash-error" role="alert" id="sso-error">Single sign-on is not set up for that tenant.</div>` : ""}
<form method="get" action="/console/sign-in" class="stack">
  <label for="tenant">Tenant id</label>
  <input id="tenant" name="tenant" required pattern="tnt_[0-9a-z]{8,40}" placeholder="tnt_…" autocomplete="off" spellcheck="false" value="${sso.tenantId ?? ""}"${sso.unavailable ? html` aria-invalid="true" aria-describedby="sso-error"` : ""}>
  <button class="btn btn-secondary btn-block" type="submit">Continue with SSO</button>
</form>`;
  return html`<section class="sso" aria-labelledby="sso-heading">
<h2 id="sso-heading" class="eyebrow">Single sign-on</h2>
<p class="muted small">Sign in through your organisation's identity provider.</p>
${body}
</section>`;
}

export function signInPage(nonce: string, error?: string, notice?: string, sso: SsoChoice = {}): Html {
  return barePage(
    "Sign in",
    html`<h1>Sign in</h1>
<p class="muted">Paste a personal access token (<code>churn_pat_…</code>). The console keeps a 12-hour session in a secure cookie; the token itself is not stored.</p>
${error ? html`<div class="flash flash-error" role="alert" id="sign-in-error">${error}</div>` : ""}
${notice ? html`<div class="flash flash-ok" role="status">${notice}</div>` : ""}
<form method="post" action="/console/sign-in" class="stack">
  <input type="hidden" name="_nonce" value="${nonce}">
  <label for="token">Personal access token</label>
  <input id="token" name="token" type="password" autocomplete="off" spellcheck="false" required
    pattern="churn_pat_.+" placeholder="churn_pat_…"${error ? html` aria-invalid="true" aria-describedby="sign-in-error"` : ""}>
  <button class="btn btn-primary btn-block" type="submit">Sign in</button>
</form>
${ssoSection(sso)}
<details class="help">
  <summary>Where do I get a token?</summary>
  <p>Running locally? <code>npm start</code> prints the demo owner's token and saves it as <code>ownerToken</code> in <code>.data/local.json</code>.</p>
  <p>Otherwise ask an owner or admin to invite you, and redeem the invitation code with <code>POST /v1/invitations/redeem</code> for your first token; create more for yourself with <code>POST /v1/users/me/tokens</code>.</p>
  <p>Signed in through single sign-on? Create tokens on the console's Access tokens page.</p>
</details>`,
  );
}

export function errorPage(
  status: number,
  title: string,
  message: string,
  requestId: string,
  signedIn: boolean,
): Html {
  return barePage(
    title,
    html`<p class="eyebrow">Error ${status}</p>
<h1>${title}</h1>
<p>${message}</p>
<p class="muted small">Request id <code>${requestId}</code></p>
<p><a class="btn btn-primary" href="${signedIn ? "/console" : "/console/sign-in"}">${signedIn ? "Back to the console" : "Sign in"}</a></p>`,
  );
}

/**
 * After a single sign-on callback or SAML response. The provider's redirect (or form post) was a cross-site
 * navigation, and a SameSite=Strict
 * session cookie set in its answer would not go with a redirect onward from it; this page, loaded from the
 * console itself, moves on to the console at once (Refresh), so the next request is same-site.
 */
export function ssoSignedInPage(home: string, name: string): Html {
  return barePage(
    "Signed in",
    html`<h1>Signed in</h1>
<p>Welcome, ${name}. Taking you to the console…</p>
<p><a class="btn btn-primary btn-block" id="continue" href="${home}">Continue to the console</a></p>`,
  );
}
