import { createHash } from "node:crypto";
import * as samlify from "samlify";
import { ChurnError } from "#shared/errors.ts";
import { validateSamlSchema } from "./schema-validator.ts";
import type { SamlProvider } from "./settings.ts";

/**
 * The tenant's service provider and its identity provider, as samlify (pinned, with the 2025 signature
 * wrapping fix) sees them. samlify does the protocol's checks on a response: schema validation first (see
 * schema-validator.ts), then the XML signature over the Response or its one Assertion, verified only with
 * a configured certificate's key (a certificate carried in the response counts only when it is one of
 * them; an unsigned response or one signed otherwise is refused), RSA-SHA256 or RSA-SHA512 only, the
 * Issuer, the Audience (our entity id), the Destination and bearer Recipient (our assertion consumer
 * service), the NotBefore/NotOnOrAfter windows of the conditions and the subject confirmation, the
 * InResponseTo of the signed confirmation against the request this browser started (unsolicited responses
 * are refused), and the assertion id against every one accepted before (the replay cache). On top of
 * that a response must hold exactly one assertion.
 */

samlify.setSchemaValidator({ validate: validateSamlSchema });

const { binding, format } = samlify.Constants.namespace;
const { signature } = samlify.Constants.algorithms;

/** Clock difference tolerated between the provider and the control plane on each validity bound. */
export const CLOCK_SKEW_MS = 60_000;

/** Responses verified at once in this process: parsing and signature checks are CPU an attacker can ask for. */
export const MAX_CONCURRENT_VERIFICATIONS = 4;

export interface SamlEndpoints {
  spEntityId: string;
  acsUrl: string;
}

/** samlify's store for used ids; `saveIfAbsent` answers false for an id already there. */
export type ReplayCache = NonNullable<Parameters<typeof samlify.ServiceProvider>[0]["replayCache"]>;

function serviceProvider(endpoints: SamlEndpoints, replayCache?: ReplayCache) {
  return samlify.ServiceProvider({
    entityID: endpoints.spEntityId,
    assertionConsumerService: [{ Binding: binding.post, Location: endpoints.acsUrl }],
    // No SP key: requests go unsigned (they carry nothing secret); WantAssertionsSigned tells the provider
    // what is checked anyway.
    authnRequestsSigned: false,
    wantAssertionsSigned: true,
    // The provider chooses the format; a persistent one keeps the link to our user stable (docs).
    nameIDFormat: [format.unspecified],
    clockDrifts: [-CLOCK_SKEW_MS, CLOCK_SKEW_MS],
    wantAudienceCheck: true,
    allowUnsolicitedResponse: false,
    allowedSignatureAlgorithms: [signature.RSA_SHA256, signature.RSA_SHA512],
    templateRenderer: "strict",
    ...(replayCache ? { replayCache } : {}),
  });
}

type IdentityProvider = ReturnType<typeof samlify.IdentityProvider>;

/**
 * Built once per provider as configured (keyed by everything it is built from, so a certificate removed is
 * never trusted by a cached copy): samlify warns on stderr each time one is built without single logout.
 */
const identityProviders = new Map<string, IdentityProvider>();
const MAX_CACHED_PROVIDERS = 256;

function identityProvider(provider: SamlProvider): IdentityProvider {
  const key = createHash("sha256")
    .update(JSON.stringify([provider.idpEntityId, provider.idpSsoUrl, provider.idpCertificates]))
    .digest("base64url");
  let idp = identityProviders.get(key);
  if (!idp) {
    idp = samlify.IdentityProvider({
      entityID: provider.idpEntityId,
      signingCert: provider.idpCertificates,
      singleSignOnService: [{ Binding: binding.redirect, Location: provider.idpSsoUrl }],
      wantAuthnRequestsSigned: false,
    });
    if (identityProviders.size >= MAX_CACHED_PROVIDERS)
      identityProviders.delete(identityProviders.keys().next().value!);
    identityProviders.set(key, idp);
  }
  return idp;
}

/** Our metadata for the tenant's provider to import: entity id, assertion consumer service, what we want. */
export function serviceProviderMetadata(endpoints: SamlEndpoints): string {
  return serviceProvider(endpoints).getMetadata();
}

/** An AuthnRequest for the HTTP-Redirect binding: the URL to send the browser to, and the request's id. */
export function authnRequest(
  provider: SamlProvider,
  endpoints: SamlEndpoints,
): { redirectUrl: string; requestId: string } {
  const { id, context } = serviceProvider(endpoints).createLoginRequest(
    identityProvider(provider),
    "redirect",
  );
  return { redirectUrl: context, requestId: id };
}

/** What a verified assertion says about the person. */
export interface VerifiedAssertion {
  nameId: string;
  attributes: Record<string, unknown>;
}

/**
 * Why a response was refused: the provider said no (`status`), it answers no request this browser has
 * open or was already used (`flow`), or it failed a check (`invalid`). `reason` is samlify's code, for the
 * operator's log.
 */
export class SamlResponseRefused extends Error {
  readonly kind: "status" | "flow" | "invalid";
  readonly reason: string;

  constructor(kind: "status" | "flow" | "invalid", reason: string) {
    super(reason);
    this.name = "SamlResponseRefused";
    this.kind = kind;
    this.reason = reason;
  }
}

const FLOW_REASONS = new Set([
  "ERR_INRESPONSETO_MISMATCH",
  "ERR_MISSING_INRESPONSETO",
  "ERR_UNSOLICITED_RESPONSE",
  "ERR_REPLAYED_ASSERTION",
]);

function refusalOf(err: unknown): SamlResponseRefused {
  const text = (err instanceof Error ? err.message : String(err)).replace(/\s+/g, " ").slice(0, 300);
  const code = text.split(/[\s:]/, 1)[0] ?? "";
  if (code === "ERR_FAILED_STATUS") return new SamlResponseRefused("status", text);
  return new SamlResponseRefused(FLOW_REASONS.has(code) ? "flow" : "invalid", text);
}

/**
 * Providers send one assertion per response. samlify reads the person from the assertion its signature
 * covers, so an extra, unsigned one beside it is ignored rather than believed; refusing such a response
 * outright leaves a wrapping attempt nothing to work with and shows up in the log.
 */
function assertOneAssertion(samlContent: string): void {
  const found = samlify.Extractor.extract(samlContent, [
    { key: "plain", localPath: ["Response", "Assertion"], attributes: [], context: true },
    { key: "encrypted", localPath: ["Response", "EncryptedAssertion"], attributes: [], context: true },
  ]);
  const count = (value: unknown) => (value == null ? 0 : Array.isArray(value) ? value.length : 1);
  const total = count(found["plain"]) + count(found["encrypted"]);
  if (total !== 1) throw new Error(`ERR_ASSERTION_COUNT: the response holds ${total} assertions, not one`);
}

let verifying = 0;

/**
 * Verifies a base64 SAMLResponse from the HTTP-POST binding as the answer to `requestId`, recording its
 * assertion id in `replayCache`. Throws SamlResponseRefused, or 429 when too many are being verified.
 */
export async function verifyResponse(
  provider: SamlProvider,
  endpoints: SamlEndpoints,
  samlResponse: string,
  requestId: string,
  replayCache: ReplayCache,
): Promise<VerifiedAssertion> {
  if (verifying >= MAX_CONCURRENT_VERIFICATIONS)
    throw new ChurnError("RATE_LIMITED", "Too many sign-ins are being checked right now; try again", {
      headers: { "retry-after": "1" },
    });
  verifying++;
  let extract: Record<string, unknown>;
  try {
    const result = await serviceProvider(endpoints, replayCache).parseLoginResponse(
      identityProvider(provider),
      "post",
      { body: { SAMLResponse: samlResponse } },
      { inResponseTo: requestId },
    );
    extract = result.extract as Record<string, unknown>;
    assertOneAssertion(result.samlContent);
  } catch (err) {
    if (err instanceof ChurnError) throw err;
    throw refusalOf(err);
  } finally {
    verifying--;
  }
  const nameId = extract["nameID"];
  if (typeof nameId !== "string" || nameId.trim() === "" || nameId.length > 512)
    throw new SamlResponseRefused("invalid", "ERR_NAMEID: missing, repeated or over 512 characters");
  const attributes = extract["attributes"];
  return {
    nameId: nameId.trim(),
    attributes:
      attributes !== null && typeof attributes === "object" ? (attributes as Record<string, unknown>) : {},
  };
}
