import { ChurnError } from "#shared/errors.ts";
import type { Deps } from "../../platform/env.ts";
import type { AuditContext } from "../audit/audit.ts";
import { type FederatedSignIn, signInFederatedUser } from "../identity/federated-users.ts";
import { emailDomainAllowed, roleFor } from "./claims.ts";
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
  const refuse = (reason: string, message: string): never => {
    deps.log.info({ event: "sso.sign_in_refused", tenantId: flow.tenantId, reason });
    throw new ChurnError("FORBIDDEN", message);
  };
  if (!emailDomainAllowed(identity.verifiedEmail, provider.allowedEmailDomains))
    refuse(
      "email_domain",
      "Your verified email address is not in a domain this tenant accepts for single sign-on",
    );
  const role = roleFor(identity.groups, provider.roleMappings, provider.defaultRole);
  if (role === null)
    return refuse(
      "no_role",
      "Your account at the identity provider is in no group that grants a role in this tenant: " +
        "ask an owner or admin to add you to a mapped group",
    );
  try {
    return await signInFederatedUser(deps.db, request, flow.tenantId, {
      issuer: identity.issuer,
      subject: identity.subject,
      verifiedEmail: identity.verifiedEmail,
      name: identity.name,
      role,
    });
  } catch (err) {
    if (err instanceof ChurnError && err.status === 403)
      deps.log.info({ event: "sso.sign_in_refused", tenantId: flow.tenantId, reason: "user" });
    throw err;
  }
}
