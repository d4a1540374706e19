import * as client from "openid-client";
import { ChurnError } from "#shared/errors.ts";
import type { Logger } from "../../platform/env.ts";
import { groupsIn, nameIn, type ProviderIdentity, verifiedEmailIn } from "./claims.ts";
import { providerEgress } from "./egress.ts";
import type { SsoProvider } from "./settings.ts";

/**
 * The OpenID Connect authorization code flow with PKCE, through openid-client. Everything the provider
 * says is checked by the library: the discovery document's issuer must equal the configured one (issuer
 * pinning), the ID token's signature (the provider's JWKS), `iss`, `aud` (our client id), `exp`, `iat` and
 * `nonce`, the `state` echoed in the callback, the `iss` response parameter when the provider sends it
 * (mix-up defence), and the PKCE verifier at the token endpoint.
 */

/** What a started sign-in must remember until its callback: kept in an httpOnly cookie of the browser. */
export interface SsoFlow {
  tenantId: string;
  state: string;
  nonce: string;
  codeVerifier: string;
}

/** Seconds each request to the provider may take. */
const PROVIDER_TIMEOUT_SECONDS = 10;

interface ProviderCall {
  provider: SsoProvider;
  allowPrivateNetworks: boolean;
  log: Logger;
}

/** client_secret_basic unless the provider lists only client_secret_post (RFC 8414's default is basic). */
function clientSecretAuth(secret: string): client.ClientAuth {
  const basic = client.ClientSecretBasic(secret);
  const post = client.ClientSecretPost(secret);
  return (as, metadata, body, headers) => {
    const methods = as.token_endpoint_auth_methods_supported;
    const useBasic =
      !methods || methods.includes("client_secret_basic") || !methods.includes("client_secret_post");
    (useBasic ? basic : post)(as, metadata, body, headers);
  };
}

async function withProvider<T>(
  call: ProviderCall,
  step: string,
  use: (config: client.Configuration) => Promise<T>,
): Promise<T> {
  const { provider, allowPrivateNetworks, log } = call;
  const insecure = new URL(provider.issuer).protocol === "http:";
  if (insecure && !allowPrivateNetworks)
    throw new ChurnError(
      "UNAVAILABLE",
      "The identity provider's issuer uses plain http, which is not allowed here",
    );
  const egress = providerEgress(allowPrivateNetworks);
  try {
    let config: client.Configuration;
    try {
      config = await client.discovery(
        new URL(provider.issuer),
        provider.clientId,
        undefined,
        clientSecretAuth(provider.clientSecret),
        {
          [client.customFetch]: egress.fetch,
          timeout: PROVIDER_TIMEOUT_SECONDS,
          // Only for an http issuer, which only an operator allowing private networks lets a tenant set.
          execute: insecure ? [client.allowInsecureRequests] : [],
        },
      );
    } catch (err) {
      log.error({ event: "sso.discovery_failed", tenantId: provider.tenantId, step, error: describe(err) });
      throw new ChurnError(
        "UNAVAILABLE",
        "The identity provider could not be reached, or its discovery document does not match the configured issuer",
        { cause: err },
      );
    }
    return await use(config);
  } finally {
    await egress.close();
  }
}

/** The provider's error in one line for the operator's log; never a token or a secret. */
function describe(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const code = (err as { code?: unknown }).code;
  const cause = err.cause instanceof Error ? `: ${err.cause.message}` : "";
  return `${err.name}${typeof code === "string" ? ` ${code}` : ""}: ${err.message}${cause}`.slice(0, 500);
}

/** Starts a sign-in: the provider's authorization URL, and the flow to remember until the callback. */
export function startAuthorization(
  call: ProviderCall,
  redirectUri: string,
): Promise<{ authorizationUrl: string; flow: SsoFlow }> {
  return withProvider(call, "start", async (config) => {
    const flow: SsoFlow = {
      tenantId: call.provider.tenantId,
      state: client.randomState(),
      nonce: client.randomNonce(),
      codeVerifier: client.randomPKCECodeVerifier(),
    };
    const scopes = ["openid", "email", "profile"];
    // Providers that release groups only under a scope of that name (Okta's "groups") say so in metadata.
    if (config.serverMetadata().scopes_supported?.includes(call.provider.groupsClaim))
      scopes.push(call.provider.groupsClaim);
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: redirectUri,
      response_type: "code",
      scope: scopes.join(" "),
      state: flow.state,
      nonce: flow.nonce,
      code_challenge: await client.calculatePKCECodeChallenge(flow.codeVerifier),
      code_challenge_method: "S256",
    });
    return { authorizationUrl: url.href, flow };
  });
}

/**
 * Completes a sign-in from the callback's query: exchanges the code (with the PKCE verifier) and verifies
 * the ID token, then reads the person's claims from it and, when the provider has one, its userinfo
 * endpoint (whose `sub` must match). The caller has already matched `state` against the browser's flow.
 */
export function finishAuthorization(
  call: ProviderCall,
  redirectUri: string,
  callbackQuery: string,
  flow: SsoFlow,
): Promise<ProviderIdentity> {
  return withProvider(call, "callback", async (config) => {
    const current = new URL(redirectUri);
    current.search = callbackQuery;
    let claims: Record<string, unknown>;
    try {
      const tokens = await client.authorizationCodeGrant(config, current, {
        pkceCodeVerifier: flow.codeVerifier,
        expectedState: flow.state,
        expectedNonce: flow.nonce,
        idTokenExpected: true,
      });
      const idToken = tokens.claims();
      if (!idToken) throw new Error("no ID token");
      claims = { ...idToken };
      if (config.serverMetadata().userinfo_endpoint) {
        const userinfo = await client.fetchUserInfo(config, tokens.access_token, idToken.sub);
        // The signed ID token wins where both state a claim.
        claims = { ...userinfo, ...idToken };
      }
    } catch (err) {
      call.log.error({ event: "sso.callback_refused", tenantId: flow.tenantId, error: describe(err) });
      if (err instanceof client.AuthorizationResponseError) {
        const said = `${err.error}${err.error_description ? `: ${err.error_description}` : ""}`.slice(0, 200);
        throw new ChurnError("UNAUTHORIZED", `The identity provider did not sign you in (${said})`);
      }
      if (err instanceof TypeError)
        throw new ChurnError("UNAVAILABLE", "The identity provider could not be reached: try again", {
          cause: err,
        });
      throw new ChurnError(
        "UNAUTHORIZED",
        "The identity provider's answer could not be verified: start the sign-in again",
        { cause: err },
      );
    }
    return {
      issuer: String(claims["iss"]),
      subject: String(claims["sub"]),
      verifiedEmail: verifiedEmailIn(claims),
      name: nameIn(claims),
      groups: groupsIn(claims, call.provider.groupsClaim),
    };
  });
}
