import { createHash, timingSafeEqual } from "node:crypto";
import type { Context } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import { z } from "zod";
import { ChurnError } from "#shared/errors.ts";
import type { SamlFlow } from "../sso/saml/sign-in.ts";
import type { SsoFlow } from "../sso/sign-in.ts";
import { secureRequest } from "./session.ts";

/**
 * A started SSO sign-in is remembered by the browser that started it, in an httpOnly cookie for ten
 * minutes and for the protocol's console path only. What comes back from the provider must match it, so
 * an answer forged elsewhere, replayed later or started in another browser is refused; the cookie is
 * cleared on the first answer, whatever its outcome. The cookie holds nothing secret from the browser it
 * is in: the random values in it are only worth something to that browser's own sign-in.
 *
 * OpenID Connect: the state, nonce and PKCE verifier, for `/console/sso`. The callback must bring the same
 * state in its URL, checked before anything is sent to the provider. SameSite=Lax: the provider's redirect
 * back is a cross-site navigation, which Strict cookies would not survive.
 *
 * SAML: the AuthnRequest's id and the tenant, for `/console/saml`. The response's signed InResponseTo must
 * name that id. The provider's answer is a cross-site form POST, which only SameSite=None cookies go with;
 * browsers take those only with Secure, so over plain http (local development) the cookie is Lax and
 * reaches the assertion consumer service only from a provider on the same site.
 */
export const SSO_PATH = "/console/sso";
export const SAML_PATH = "/console/saml";
const FLOW_SECONDS = 600;

const flowSchema = z.object({
  tenantId: z.string().min(1).max(64),
  state: z.string().min(16).max(128),
  nonce: z.string().min(16).max(128),
  codeVerifier: z.string().min(43).max(128),
});

const samlFlowSchema = z.object({
  tenantId: z.string().min(1).max(64),
  requestId: z.string().min(16).max(128),
});

interface FlowCookie<T> {
  remember(c: Context, flow: T): void;
  /** The flow this browser holds, or undefined; the cookie is cleared either way. */
  take(c: Context): T | undefined;
}

function flowCookie<T>(options: {
  name: string;
  path: string;
  schema: z.ZodType<T>;
  /** Whether the provider comes back with a cross-site POST (SAML) rather than a navigation (OIDC). */
  crossSitePost: boolean;
}): FlowCookie<T> {
  const cookieName = (c: Context) => (secureRequest(c) ? `__Secure-${options.name}` : options.name);
  return {
    remember(c, flow) {
      const secure = secureRequest(c);
      setCookie(c, cookieName(c), Buffer.from(JSON.stringify(flow)).toString("base64url"), {
        path: options.path,
        httpOnly: true,
        sameSite: options.crossSitePost && secure ? "None" : "Lax",
        secure,
        maxAge: FLOW_SECONDS,
      });
    },
    take(c) {
      const raw = getCookie(c, cookieName(c));
      if (raw === undefined) return undefined;
      deleteCookie(c, cookieName(c), { path: options.path, secure: secureRequest(c) });
      try {
        const parsed = options.schema.safeParse(JSON.parse(Buffer.from(raw, "base64url").toString("utf8")));
        return parsed.success ? parsed.data : undefined;
      } catch {
        return undefined;
      }
    },
  };
}

const oidcFlow = flowCookie<SsoFlow>({
  name: "churn_console_sso",
  path: SSO_PATH,
  schema: flowSchema,
  crossSitePost: false,
});

const samlFlow = flowCookie<SamlFlow>({
  name: "churn_console_saml",
  path: SAML_PATH,
  schema: samlFlowSchema,
  crossSitePost: true,
});

const notStartedHere = () =>
  new ChurnError(
    "INVALID_REQUEST",
    "This sign-in was not started in this browser, has expired, or was already completed: start again",
  );

export function rememberFlow(c: Context, flow: SsoFlow): void {
  oidcFlow.remember(c, flow);
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
  const flow = oidcFlow.take(c);
  if (!flow || state === undefined || !sameState(flow.state, state)) throw notStartedHere();
  return flow;
}

export function rememberSamlFlow(c: Context, flow: SamlFlow): void {
  samlFlow.remember(c, flow);
}

/**
 * The SAML flow this browser started for `tenantId` (the assertion consumer service's own tenant); cleared
 * either way. 400 when there is none or it is another tenant's. Whether the response answers its request
 * is samlify's check, on the signed InResponseTo.
 */
export function takeSamlFlow(c: Context, tenantId: string): SamlFlow {
  const flow = samlFlow.take(c);
  if (!flow || flow.tenantId !== tenantId) throw notStartedHere();
  return flow;
}
