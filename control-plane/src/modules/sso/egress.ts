import type { CustomFetch } from "openid-client";
import { fetch } from "undici";
import { webhookDispatcher } from "../alerts/egress.ts";

/**
 * How the control plane reaches a tenant's identity provider. The issuer URL is the tenant's choice, so
 * discovery, the token endpoint, the JWKS and userinfo (whatever URLs the provider's metadata names) are
 * fetched through the same connection-time address check as webhooks: no private, loopback or link-local
 * address unless the operator allows private networks. Redirects are not followed (openid-client asks for
 * `redirect: "manual"`).
 */
export interface ProviderEgress {
  fetch: CustomFetch;
  /** Closes the connections this sign-in step opened. */
  close(): Promise<void>;
}

export function providerEgress(allowPrivateNetworks: boolean): ProviderEgress {
  const dispatcher = webhookDispatcher({ allowPrivateNetworks });
  return {
    fetch: (url, options) =>
      fetch(url, { ...(options as Parameters<typeof fetch>[1]), dispatcher }) as unknown as Promise<Response>,
    close: () => dispatcher.close(),
  };
}
