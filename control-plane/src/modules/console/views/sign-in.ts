import { html } from "hono/html";
import { barePage, type Html } from "../layout.ts";

export function signInPage(nonce: string, error?: string, notice?: string): Html {
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
<details class="help">
  <summary>Where do I get a token?</summary>
  <p>Running locally? <code>npm start</code> prints the demo owner's token and saves it as <code>ownerToken</code> in <code>.data/local.json</code>.</p>
  <p>Otherwise ask an owner or admin to invite you, and redeem the invitation code with <code>POST /v1/invitations/redeem</code> for your first token; create more for yourself with <code>POST /v1/users/me/tokens</code>.</p>
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
