import { ChurnError } from "#shared/errors.ts";
import { MINUTE_MS } from "#shared/time.ts";
import type { Db } from "../../../platform/db/client.ts";
import { writeTransaction } from "../../../platform/db/write-transaction.ts";
import type { Deps } from "../../../platform/env.ts";
import type { AuditContext } from "../../audit/audit.ts";
import type { FederatedSignIn } from "../../identity/federated-users.ts";
import { admitVouchedPerson } from "../admit.ts";
import { groupsIn, normalisedEmail } from "../claims.ts";
import { useIdOnce } from "./queries.ts";
import {
  authnRequest,
  CLOCK_SKEW_MS,
  type ReplayCache,
  SamlResponseRefused,
  type VerifiedAssertion,
  verifyResponse,
} from "./service-provider.ts";
import { type SamlProvider, samlProviderForSignIn, samlUrls } from "./settings.ts";

/** What a started SAML sign-in must remember until the response: kept in an httpOnly cookie of the browser. */
export interface SamlFlow {
  tenantId: string;
  /** The AuthnRequest's ID: the response's signed InResponseTo must name it, once. */
  requestId: string;
}

/** How long a started sign-in may take at the provider; the flow cookie lives as long. */
export const SAML_FLOW_MS = 10 * MINUTE_MS;

/** Starts a console sign-in at the tenant's SAML provider: 404 when the tenant has no SAML switched on. */
export async function beginSamlSignIn(
  db: Db,
  tenantId: string,
  origin: string,
): Promise<{ redirectUrl: string; flow: SamlFlow }> {
  const provider = await samlProviderForSignIn(db, tenantId);
  const { redirectUrl, requestId } = authnRequest(provider, samlUrls(origin, tenantId));
  return { redirectUrl, flow: { tenantId, requestId } };
}

/**
 * The tenant's used ids in the database, so every control-plane process refuses a replay. samlify turns any
 * failure inside it into a refused response; `failure` keeps the database's own error, so an outage stays a
 * 5xx rather than a 401.
 */
function replayCacheFor(db: Db, tenantId: string): ReplayCache & { failure?: unknown } {
  const cache: ReplayCache & { failure?: unknown } = {
    saveIfAbsent: async (key, expiresAt) => {
      try {
        return await writeTransaction(db, (tx) => useIdOnce(tx, tenantId, key, expiresAt.getTime()));
      } catch (err) {
        cache.failure = err;
        throw err;
      }
    },
  };
  return cache;
}

/** The provider's status codes as people read them: `Responder`, or `Responder: AuthnFailed`. */
function statusOf(reason: string): string {
  const codes = /top tier code: (\S+?),? second tier code: (\S+)/.exec(reason);
  if (!codes) return "no Success status";
  const name = (code: string) => code.slice(code.lastIndexOf(":") + 1).slice(0, 64);
  return codes[2] && codes[2] !== "undefined" ? `${name(codes[1]!)}: ${name(codes[2])}` : name(codes[1]!);
}

/** The person's email: the configured attribute's single value, else a NameID that is an email address. */
function emailOf(assertion: VerifiedAssertion, provider: SamlProvider): string | null {
  const value = assertion.attributes[provider.emailAttribute];
  const values = Array.isArray(value) ? value : value === undefined ? [] : [value];
  if (values.length > 1) return null;
  return values.length === 1 ? normalisedEmail(values[0]) : normalisedEmail(assertion.nameId);
}

function nameOf(assertion: VerifiedAssertion): string | null {
  for (const attribute of ["displayName", "name"]) {
    const value = assertion.attributes[attribute];
    if (typeof value === "string" && value.trim() !== "") return value.trim().slice(0, 128);
  }
  return null;
}

/**
 * Completes a console sign-in from the provider's HTTP-POST response: the response verified (see
 * service-provider.ts) as the answer to the request this browser started, that request used up, then the
 * same rules as OpenID Connect (email domain, a role from the person's groups) and the user found, linked
 * or created by (provider entity id, NameID). Refusals are 4xx with a message saying what to do; nothing is
 * written for a refused person.
 */
export async function completeSamlSignIn(
  deps: Deps,
  request: Omit<AuditContext, "actor">,
  flow: SamlFlow,
  origin: string,
  samlResponse: string,
): Promise<FederatedSignIn> {
  // Read again: settings switched off or changed since the start apply to the response too.
  const provider = await samlProviderForSignIn(deps.db, flow.tenantId);
  const log = (event: string, reason: string) =>
    deps.log.info({ event, tenantId: flow.tenantId, protocol: "saml", reason });
  const replayCache = replayCacheFor(deps.db, flow.tenantId);
  let assertion: VerifiedAssertion;
  try {
    assertion = await verifyResponse(
      provider,
      samlUrls(origin, flow.tenantId),
      samlResponse,
      flow.requestId,
      replayCache,
    );
  } catch (err) {
    if (replayCache.failure !== undefined) throw replayCache.failure;
    if (!(err instanceof SamlResponseRefused)) throw err;
    log("saml.response_refused", err.reason);
    if (err.kind === "status")
      throw new ChurnError(
        "UNAUTHORIZED",
        `The identity provider did not sign you in (${statusOf(err.reason)})`,
      );
    if (err.kind === "flow") throw notThisFlow();
    throw new ChurnError(
      "UNAUTHORIZED",
      "The identity provider's answer could not be verified: start the sign-in again",
    );
  }
  // One answer per request, whichever assertion it carries.
  const firstAnswer = await writeTransaction(deps.db, (tx) =>
    useIdOnce(
      tx,
      flow.tenantId,
      JSON.stringify(["request", flow.requestId]),
      Date.now() + SAML_FLOW_MS + CLOCK_SKEW_MS,
    ),
  );
  if (!firstAnswer) {
    log("saml.response_refused", "ERR_REQUEST_ALREADY_ANSWERED");
    throw notThisFlow();
  }

  return admitVouchedPerson(
    deps.db,
    request,
    flow.tenantId,
    provider,
    {
      issuer: provider.idpEntityId,
      subject: assertion.nameId,
      verifiedEmail: emailOf(assertion, provider),
      name: nameOf(assertion),
      groups: groupsIn(assertion.attributes, provider.groupsAttribute),
      emailKind: "email address",
    },
    (reason) => log("sso.sign_in_refused", reason),
  );
}

const notThisFlow = () =>
  new ChurnError(
    "INVALID_REQUEST",
    "This sign-in was not started in this browser, has expired, or was already completed: start again",
  );
