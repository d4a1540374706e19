import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import type { Context, MiddlewareHandler } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import { ChurnError } from "#shared/errors.ts";
import { HOUR_MS } from "#shared/time.ts";
import type { HonoEnv } from "../../platform/env.ts";
import { auditContextOf } from "../audit/request-audit.ts";
import { isAllowed, type Principal } from "../identity/permissions.ts";
import { createOwnToken, revokeOwnToken } from "../identity/personal-access-tokens.ts";
import { liveToken } from "../identity/tokens.ts";
import type { ConsoleEnv, ConsoleUser } from "./env.ts";

/**
 * Console sessions are personal access tokens of their own: signing in with a PAT mints a short-lived
 * token named "Console session" for the same person, held only in an httpOnly cookie. So a session is a
 * server-side record that the API's own rules already cover: it is re-read on every request (role changes
 * and revocation apply at once), it expires, it shows in the person's token list, signing in and out are
 * audited (pat.create / pat.revoke), and no signing secret has to be configured or rotated.
 */
export const SESSION_TOKEN_NAME = "Console session";
export const SESSION_HOURS = 12;
export const CONSOLE_PATH = "/console";

/** Pre-session cookie for the sign-in form's double-submit check (login CSRF). */
const SIGN_IN_COOKIE = "churn_console_signin";

/** Served over https, directly or (PUBLIC_URL) behind a TLS-terminating proxy: cookies are then Secure. */
export function secureRequest(c: Context): boolean {
  const publicUrl = (c as Context<HonoEnv>).get("deps").config.PUBLIC_URL;
  return new URL(c.req.url).protocol === "https:" || (publicUrl?.startsWith("https:") ?? false);
}

/**
 * Over https the session cookie is `__Secure-`: browsers then accept it only with Secure, from a secure
 * origin, and (with no Domain attribute) for this host alone. Not `__Host-`: that prefix demands Path=/,
 * and the session belongs to /console only.
 */
function sessionCookieName(c: Context): string {
  return secureRequest(c) ? "__Secure-churn_console" : "churn_console";
}

type SessionRow = NonNullable<Awaited<ReturnType<typeof liveToken>>>;

const principalOf = (row: SessionRow): Principal => ({
  tenantId: row.user.tenantId,
  kind: "user",
  id: row.user.id,
  role: row.user.role,
  scopes: new Set(),
});

/**
 * The CSRF token is bound to the session: a digest of the session token under a fixed label. Without the
 * session token (192 random bits, never readable by scripts) it cannot be computed, and it changes with
 * every session.
 */
export function csrfTokenFor(sessionToken: string): string {
  return createHash("sha256").update(`churn-console-csrf\0${sessionToken}`).digest("base64url");
}

function sameSecret(a: string, b: string): boolean {
  const x = createHash("sha256").update(a).digest();
  const y = createHash("sha256").update(b).digest();
  return timingSafeEqual(x, y) && a.length === b.length;
}

/** Resolves the session cookie; pages redirect to sign-in without one, other requests get 401. */
export function consoleSession(): MiddlewareHandler<ConsoleEnv> {
  return async (c, next) => {
    const token = getCookie(c, sessionCookieName(c));
    const row = token ? await liveToken(c.get("deps").db, token) : undefined;
    if (!token || !row) {
      if (c.req.method === "GET" && !wantsJson(c)) {
        if (token) deleteCookie(c, sessionCookieName(c), { path: CONSOLE_PATH });
        return c.redirect(`${CONSOLE_PATH}/sign-in`, 303);
      }
      throw new ChurnError("UNAUTHORIZED", "Your console session has ended: sign in again");
    }
    const user: ConsoleUser = {
      ...row.user,
      tenantName: row.tenantName,
      sessionTokenId: row.tokenId,
      sessionExpiresAt: row.expiresAt,
      csrfToken: csrfTokenFor(token),
    };
    c.set("principal", principalOf(row));
    c.set("consoleUser", user);
    c.header("cache-control", "no-store");
    await next();
  };
}

/** True when the caller asked for JSON (a script), false for a browser navigation or form post. */
export function wantsJson(c: Context): boolean {
  const accept = c.req.header("accept") ?? "";
  const type = c.req.header("content-type") ?? "";
  return (
    type.startsWith("application/json") ||
    (accept.includes("application/json") && !accept.includes("text/html"))
  );
}

/**
 * Every state-changing console request carries the session's CSRF token, as the `_csrf` form field or the
 * `x-csrf-token` header. A cross-site Origin is refused too, as a second, independent check.
 */
export function requireCsrf(): MiddlewareHandler<ConsoleEnv> {
  return async (c, next) => {
    checkOrigin(c);
    const expected = c.get("consoleUser").csrfToken;
    let sent = c.req.header("x-csrf-token");
    if (sent === undefined && isForm(c)) {
      // Parsed with `all` as the handlers do: Hono caches the first parse of a body.
      const field = (await c.req.parseBody({ all: true }))["_csrf"];
      const value = Array.isArray(field) ? field[0] : field;
      sent = typeof value === "string" ? value : undefined;
    }
    if (!sent || !sameSecret(sent, expected))
      throw new ChurnError("FORBIDDEN", "Missing or invalid CSRF token: reload the page and try again");
    await next();
  };
}

function isForm(c: Context): boolean {
  const type = c.req.header("content-type")?.split(";")[0]?.trim().toLowerCase() ?? "";
  return type === "application/x-www-form-urlencoded" || type === "multipart/form-data";
}

/** Browsers send Origin on every POST; one that is not this service's own is a cross-site request. */
function checkOrigin(c: Context): void {
  const origin = c.req.header("origin");
  if (origin === undefined) return;
  const publicUrl = (c as Context<HonoEnv>).get("deps").config.PUBLIC_URL;
  const own = [new URL(c.req.url).origin, ...(publicUrl ? [new URL(publicUrl).origin] : [])];
  if (!own.includes(origin)) throw new ChurnError("FORBIDDEN", "Cross-site request refused");
}

/** Sets the pre-session cookie the sign-in form echoes back, and returns its value for the form. */
export function issueSignInNonce(c: Context<HonoEnv>): string {
  const nonce = randomBytes(18).toString("base64url");
  setCookie(c, SIGN_IN_COOKIE, nonce, {
    path: CONSOLE_PATH,
    httpOnly: true,
    sameSite: "Strict",
    secure: secureRequest(c),
    maxAge: 3600,
  });
  return nonce;
}

/**
 * Checks a PAT and starts a session for its owner. The form must echo the pre-session cookie (a
 * cross-site page cannot read or set it), so nobody can sign a victim into the attacker's account.
 */
export async function signIn(c: Context<HonoEnv>, form: { token: string; nonce: string }): Promise<void> {
  checkOrigin(c);
  const cookie = getCookie(c, SIGN_IN_COOKIE);
  if (!cookie || !sameSecret(cookie, form.nonce))
    throw new ChurnError("FORBIDDEN", "The sign-in form expired: reload the page and try again");
  const deps = c.get("deps");
  const row = await liveToken(deps.db, form.token.trim());
  if (!row)
    throw new ChurnError("UNAUTHORIZED", "That token is not valid: it may be mistyped, expired or revoked");
  // A session never outlives the token it was started with.
  const hours = Math.min(SESSION_HOURS, (row.expiresAt - Date.now()) / HOUR_MS);
  deleteCookie(c, SIGN_IN_COOKIE, { path: CONSOLE_PATH });
  await startSession(c, principalOf(row), hours);
}

/**
 * Starts a session for a person already authenticated (by a PAT, or by the tenant's identity provider):
 * mints the session token, audited as `pat.create`, and sets its cookie. The principal is set for the
 * handler that redirects to the person's home page.
 */
export async function startSession(
  c: Context<HonoEnv>,
  principal: Principal,
  hours: number = SESSION_HOURS,
): Promise<void> {
  if (!isAllowed(principal, "tokens:self"))
    throw new ChurnError("FORBIDDEN", "This account may not start sessions");
  const deps = c.get("deps");
  const owner = { tenantId: principal.tenantId, userId: principal.id };
  c.set("principal", principal);
  const session = await createOwnToken(deps.db, auditContextOf(c), owner, {
    name: SESSION_TOKEN_NAME,
    ttlDays: hours / 24,
  });
  try {
    setCookie(c, sessionCookieName(c), session.token, {
      path: CONSOLE_PATH,
      httpOnly: true,
      sameSite: "Strict",
      secure: secureRequest(c),
      maxAge: Math.floor(hours * 3600),
    });
  } catch (err) {
    // A session the browser never receives must not stay valid: nobody could end it.
    await revokeOwnToken(deps.db, auditContextOf(c), owner, session.id);
    throw err;
  }
}

/** Ends the session: its token is revoked at once (audited) and the cookie cleared. */
export async function signOut(c: Context<ConsoleEnv>): Promise<void> {
  const user = c.get("consoleUser");
  await revokeOwnToken(
    c.get("deps").db,
    auditContextOf(c as unknown as Context<HonoEnv>),
    { tenantId: user.tenantId, userId: user.id },
    user.sessionTokenId,
  );
  deleteCookie(c, sessionCookieName(c), { path: CONSOLE_PATH, secure: secureRequest(c) });
}
