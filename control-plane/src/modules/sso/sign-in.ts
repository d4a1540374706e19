import type { Deps } from "../../platform/env.ts";
import type { AuditContext } from "../audit/audit.ts";
import type { FederatedSignIn } from "../identity/federated-users.ts";
import { admitVouchedPerson } from "./admit.ts";
import { finishAuthorization, type SsoFlow, startAuthorization } from "./oidc.ts";
import { providerForSignIn } from "./settings.ts";

export type { SsoFlow } from "./oidc.ts";

/** Starts a console sign-in at the tenant's provider: 404 when the tenant has no SSO switched on. */
export async function beginSsoSignIn(
  deps: Deps,
  tenantId: string,
  redirectUri: string,
): Promise<{ authorizationUrl: string; flow: SsoFlow }> {
  const provider = await providerForSignIn(deps.db, tenantId);
  return startAuthorization(
    { provider, allowPrivateNetworks: deps.config.SSO_ALLOW_PRIVATE_NETWORKS, log: deps.log },
    redirectUri,
  );
}

/**
 * Completes a console sign-in: the provider's answer verified, then the tenant's rules (verified email
 * domain, a role from the person's groups), then the user found, linked or created. Refusals are 403 with a
 * message saying what to ask for; nothing is written for a refused person.
 */
export async function completeSsoSignIn(
  deps: Deps,
  request: Omit<AuditContext, "actor">,
  flow: SsoFlow,
  redirectUri: string,
  callbackQuery: string,
): Promise<FederatedSignIn> {
  // Read again: settings switched off or changed since the start apply to the callback too.
  const provider = await providerForSignIn(deps.db, flow.tenantId);
  const identity = await finishAuthorization(
    { provider, allowPrivateNetworks: deps.config.SSO_ALLOW_PRIVATE_NETWORKS, log: deps.log },
    redirectUri,
    callbackQuery,
    flow,
  );
  return admitVouchedPerson(
    deps.db,
    request,
    flow.tenantId,
    provider,
    { ...identity, emailKind: "verified email address" },
    (reason) => deps.log.info({ event: "sso.sign_in_refused", tenantId: flow.tenantId, reason }),
  );
}
