import { ChurnError } from "#shared/errors.ts";
import type { Role } from "#shared/identity.ts";
import type { SsoRoleMapping } from "#shared/sso.ts";
import type { Db } from "../../platform/db/client.ts";
import type { AuditContext } from "../audit/audit.ts";
import {
  type FederatedIdentity,
  type FederatedSignIn,
  signInFederatedUser,
} from "../identity/federated-users.ts";
import { emailDomainAllowed, roleFor } from "./claims.ts";

/** The tenant's rules for people its identity provider vouches for, whichever protocol it speaks. */
export interface AdmissionRules {
  allowedEmailDomains: readonly string[];
  roleMappings: readonly SsoRoleMapping[];
  defaultRole: Exclude<Role, "owner"> | null;
}

/** Who the provider says signed in: OpenID Connect claims or a SAML assertion, read the same way. */
export interface VouchedPerson extends Omit<FederatedIdentity, "role"> {
  groups: readonly string[];
  /** How the refusal names the email: "verified email address" where the provider says it verified it. */
  emailKind: string;
}

/**
 * The tenant's rules on a person their provider vouched for (an email domain it accepts, a role from their
 * groups), then the user found, linked or created. Refusals are 403 with a message saying what to ask for;
 * `refused` hears each one's reason; nothing is written for a refused person.
 */
export async function admitVouchedPerson(
  db: Db,
  request: Omit<AuditContext, "actor">,
  tenantId: string,
  rules: AdmissionRules,
  person: VouchedPerson,
  refused: (reason: string) => void,
): Promise<FederatedSignIn> {
  const refuse = (reason: string, message: string): never => {
    refused(reason);
    throw new ChurnError("FORBIDDEN", message);
  };
  if (!emailDomainAllowed(person.verifiedEmail, rules.allowedEmailDomains))
    refuse(
      "email_domain",
      `Your ${person.emailKind} is not in a domain this tenant accepts for single sign-on`,
    );
  const role = roleFor(person.groups, rules.roleMappings, rules.defaultRole);
  if (role === null)
    return refuse(
      "no_role",
      "Your account at the identity provider is in no group that grants a role in this tenant: " +
        "ask an owner or admin to add you to a mapped group",
    );
  try {
    return await signInFederatedUser(db, request, tenantId, {
      issuer: person.issuer,
      subject: person.subject,
      verifiedEmail: person.verifiedEmail,
      name: person.name,
      role,
    });
  } catch (err) {
    if (err instanceof ChurnError && err.status === 403) refused("user");
    throw err;
  }
}
