import { createHash, timingSafeEqual } from "node:crypto";
import type { Context } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import { z } from "zod";
import { ChurnError } from "#shared/errors.ts";
import type { SsoFlow } from "../sso/sign-in.ts";
import { secureRequest } from "./session.ts";

/**
 * A started SSO sign-in is remembered by the browser that started it, in an httpOnly cookie holding the
 * state, nonce and PKCE verifier, for ten minutes and for the callback's path only. The callback must
 * bring the same state in its URL as the cookie holds, so a callback forged elsewhere, replayed later or
 * started in another browser is refused before anything is sent to the provider; the cookie is cleared
 * on the first callback, whatever its outcome. SameSite=Lax: the provider's redirect back is a cross-site
 * navigation, which Strict cookies would not survive.
 */
export const SSO_PATH = "/console/sso";
const FLOW_SECONDS = 600;

const flowSchema = z.object({
  tenantId: z.string().min(1).max(64),
  state: z.string().min(16).max(128),
  nonce: z.string().min(16).max(128),
  codeVerifier: z.string().min(43).max(128),
});

const cookieName = (c: Context) => (secureRequest(c) ? "__Secure-churn_console_sso" : "churn_console_sso");

export function rememberFlow(c: Context, flow: SsoFlow): void {
  setCookie(c, cookieName(c), Buffer.from(JSON.stringify(flow)).toString("base64url"), {
    path: SSO_PATH,
    httpOnly: true,
    sameSite: "Lax",
    secure: secureRequest(c),
    maxAge: FLOW_SECONDS,
  });
}

function sameState(a: string, b: string): boolean {
  const x = createHash("sha256").update(a).digest();
  const y = createHash("sha256").update(b).digest();
  return timingSafeEqual(x, y);
}

/**
 * The flow this browser started, when the callback's `state` matches it; cleared either way. 400 when
 * there is none or it does not match: the sign-in did not start here, expired, or was already completed.
 */
export function takeFlow(c: Context, state: string | undefined): SsoFlow {
  const raw = getCookie(c, cookieName(c));
  if (raw !== undefined) deleteCookie(c, cookieName(c), { path: SSO_PATH, secure: secureRequest(c) });
  let flow: SsoFlow | undefined;
  try {
    const parsed = flowSchema.safeParse(JSON.parse(Buffer.from(raw ?? "", "base64url").toString("utf8")));
    flow = parsed.success ? parsed.data : undefined;
  } catch {
    flow = undefined;
  }
  if (!flow || state === undefined || !sameState(flow.state, state))
    throw new ChurnError(
      "INVALID_REQUEST",
      "This sign-in was not started in this browser, has expired, or was already completed: start again",
    );
  return flow;
}
