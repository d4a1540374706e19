import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { inflateRawSync } from "node:zlib";
import * as samlify from "samlify";
// Importing the control plane's service provider registers its schema validator for samlify in this
// process, so the IdP below parses requests exactly as strictly as the control plane parses responses.
import "../../control-plane/src/modules/sso/saml/service-provider.ts";

/**
 * A SAML 2.0 identity provider for tests, built on samlify's own IdP: it reads the control plane's
 * AuthnRequest from the HTTP-Redirect binding and answers with a signed Response for the HTTP-POST binding,
 * for a user the test names. Every field a hostile test needs to bend (audience, destination, times,
 * InResponseTo, issuer, signing key, which element is signed) can be overridden per response; the rest is
 * what a real provider sends. `startSamlIdpServer` puts it behind a small HTTP server with a login form and
 * an auto-posting answer page, for the browser.
 *
 * Keys and certificates are made for each run with Debian's openssl, so no private key is ever committed.
 */

const run = promisify(execFile);

export interface TestKeyPair {
  privateKey: string;
  certificate: string;
}

/** A fresh self-signed certificate and its key (openssl req -x509): RSA of `key` bits, or an EC P-256 key. */
export async function selfSignedCertificate(
  commonName: string,
  key: number | "ec" = 2048,
  days = 2,
): Promise<TestKeyPair> {
  const dir = await mkdtemp(join(tmpdir(), "churn-saml-cert-"));
  try {
    const keyPath = join(dir, "key.pem");
    const certPath = join(dir, "cert.pem");
    await run("openssl", [
      "req",
      "-x509",
      "-newkey",
      key === "ec" ? "ec" : `rsa:${key}`,
      ...(key === "ec" ? ["-pkeyopt", "ec_paramgen_curve:P-256"] : []),
      "-nodes",
      "-sha256",
      "-days",
      String(days),
      "-subj",
      `/CN=${commonName}`,
      "-keyout",
      keyPath,
      "-out",
      certPath,
    ]);
    return { privateKey: await readFile(keyPath, "utf8"), certificate: await readFile(certPath, "utf8") };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export interface SamlTestUser {
  nameId: string;
  email?: string;
  name?: string;
  groups: string[];
}

/** Which elements carry the IdP's XML signature. */
export type Signing = "assertion" | "response" | "both";

export interface ResponseOverrides {
  signing?: Signing;
  /** Sign with this key pair instead of the IdP's configured one (its certificate goes in KeyInfo). */
  signWith?: TestKeyPair;
  /** The XML-DSig signature algorithm URI; RSA-SHA256 unless set. */
  signatureAlgorithm?: string;
  issuer?: string;
  audience?: string;
  destination?: string;
  recipient?: string;
  inResponseTo?: string;
  /** Shift every timestamp of the response by this many milliseconds (negative: in the past). */
  shiftMs?: number;
  /** How long the assertion is valid from its issue instant. */
  lifetimeMs?: number;
  statusCode?: string;
  /** Rewrites the Response XML before it is signed (a provider that writes something other than SAML). */
  rewrite?: (xml: string) => string;
}

export interface SamlIdp {
  entityId: string;
  keys: TestKeyPair;
  /**
   * Reads an AuthnRequest from the redirect URL the control plane sent the browser to, and answers it for
   * `user`: the base64 SAMLResponse and where to post it.
   */
  answer(redirectUrl: string, user: SamlTestUser, overrides?: ResponseOverrides): Promise<SignedAnswer>;
}

export interface SignedAnswer {
  samlResponse: string;
  acsUrl: string;
  requestId: string;
}

const xmlEscape = (value: string) =>
  value
    .replaceAll("&", "&amp;")
    .replaceAll("<", "&lt;")
    .replaceAll(">", "&gt;")
    .replaceAll('"', "&quot;")
    .replaceAll("'", "&apos;");

function attributeStatement(user: SamlTestUser): string {
  const attribute = (name: string, values: string[]) =>
    `<saml:Attribute Name="${xmlEscape(name)}" NameFormat="urn:oasis:names:tc:SAML:2.0:attrname-format:basic">${values
      .map((v) => `<saml:AttributeValue xsi:type="xs:string">${xmlEscape(v)}</saml:AttributeValue>`)
      .join("")}</saml:Attribute>`;
  const attributes = [
    ...(user.email ? [attribute("email", [user.email])] : []),
    ...(user.name ? [attribute("displayName", [user.name])] : []),
    ...(user.groups.length > 0 ? [attribute("groups", user.groups)] : []),
  ];
  return attributes.length > 0
    ? `<saml:AttributeStatement>${attributes.join("")}</saml:AttributeStatement>`
    : "";
}

/** The Response as a provider writes it before signing: every value escaped, optional parts left out. */
function responseXml(v: {
  id: string;
  assertionId: string;
  issueInstant: string;
  notOnOrAfter: string;
  issuer: string;
  destination: string;
  recipient: string;
  audience: string;
  inResponseTo: string;
  statusCode: string;
  user: SamlTestUser;
}): string {
  const e = xmlEscape;
  return (
    `<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="${e(v.id)}" Version="2.0" IssueInstant="${e(v.issueInstant)}" Destination="${e(v.destination)}" InResponseTo="${e(v.inResponseTo)}">` +
    `<saml:Issuer>${e(v.issuer)}</saml:Issuer>` +
    `<samlp:Status><samlp:StatusCode Value="${e(v.statusCode)}"/></samlp:Status>` +
    `<saml:Assertion xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xs="http://www.w3.org/2001/XMLSchema" ID="${e(v.assertionId)}" Version="2.0" IssueInstant="${e(v.issueInstant)}">` +
    `<saml:Issuer>${e(v.issuer)}</saml:Issuer>` +
    `<saml:Subject><saml:NameID Format="urn:oasis:names:tc:SAML:2.0:nameid-format:persistent">${e(v.user.nameId)}</saml:NameID>` +
    `<saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer"><saml:SubjectConfirmationData NotOnOrAfter="${e(v.notOnOrAfter)}" Recipient="${e(v.recipient)}" InResponseTo="${e(v.inResponseTo)}"/></saml:SubjectConfirmation></saml:Subject>` +
    `<saml:Conditions NotBefore="${e(v.issueInstant)}" NotOnOrAfter="${e(v.notOnOrAfter)}"><saml:AudienceRestriction><saml:Audience>${e(v.audience)}</saml:Audience></saml:AudienceRestriction></saml:Conditions>` +
    `<saml:AuthnStatement AuthnInstant="${e(v.issueInstant)}" SessionIndex="${e(v.assertionId)}"><saml:AuthnContext><saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement>` +
    attributeStatement(v.user) +
    `</saml:Assertion></samlp:Response>`
  );
}

const randomId = () => `_${crypto.randomUUID()}`;

/** A samlify IdP for `entityId`, signing with `keys`, that answers the control plane's requests. */
export async function createSamlIdp(options: {
  entityId: string;
  ssoUrl: string;
  keys?: TestKeyPair;
  /** How the IdP reads the control plane's metadata: over the network unless a test runs it in-process. */
  fetchMetadata?: (url: string) => Promise<Response>;
}): Promise<SamlIdp> {
  const fetchMetadata = options.fetchMetadata ?? ((url: string) => fetch(url));
  const keys = options.keys ?? (await selfSignedCertificate("Test IdP"));
  const idpFor = (pair: TestKeyPair, signatureAlgorithm?: string) =>
    samlify.IdentityProvider({
      entityID: options.entityId,
      privateKey: pair.privateKey,
      signingCert: pair.certificate,
      ...(signatureAlgorithm ? { requestSignatureAlgorithm: signatureAlgorithm } : {}),
      singleSignOnService: [
        { Binding: samlify.Constants.namespace.binding.redirect, Location: options.ssoUrl },
      ],
      wantAuthnRequestsSigned: false,
    });

  return {
    entityId: options.entityId,
    keys,
    async answer(redirectUrl, user, o = {}) {
      const url = new URL(redirectUrl);
      const spMetadata = await (await fetchMetadata(requestIssuer(url))).text();
      const signing = o.signing ?? "assertion";
      // The SP as this IdP knows it (its metadata), with the signing it asks for in this response.
      const spFromMetadata = samlify.ServiceProvider({ metadata: spMetadata });
      const acsUrl = spFromMetadata.entityMeta.getAssertionConsumerService("post") as string;
      const sp = samlify.ServiceProvider({
        entityID: spFromMetadata.entityMeta.getEntityID(),
        assertionConsumerService: [{ Binding: samlify.Constants.namespace.binding.post, Location: acsUrl }],
        wantAssertionsSigned: signing !== "response",
        wantMessageSigned: signing !== "assertion",
      });
      const idp = idpFor(o.signWith ?? keys, o.signatureAlgorithm);
      const request = await idp.parseLoginRequest(sp, "redirect", {
        query: Object.fromEntries(url.searchParams),
      });
      const requestId = String((request.extract as { request?: { id?: string } }).request?.id ?? "");
      const issued = Date.now() + (o.shiftMs ?? 0);
      const values = {
        id: randomId(),
        assertionId: randomId(),
        issueInstant: new Date(issued).toISOString(),
        notOnOrAfter: new Date(issued + (o.lifetimeMs ?? 5 * 60_000)).toISOString(),
        issuer: o.issuer ?? options.entityId,
        destination: o.destination ?? acsUrl,
        recipient: o.recipient ?? acsUrl,
        audience: o.audience ?? spFromMetadata.entityMeta.getEntityID(),
        inResponseTo: o.inResponseTo ?? requestId,
        statusCode: o.statusCode ?? samlify.Constants.StatusCode.Success,
        user,
      };
      // The template is ours in full (customTagReplacement), so the parsed request is only passed along.
      const response = await idp.createLoginResponse(
        sp,
        { extract: request.extract },
        "post",
        {},
        {
          customTagReplacement: () => ({
            id: values.id,
            context: (o.rewrite ?? ((x) => x))(responseXml(values)),
          }),
        },
      );
      return { samlResponse: response.context, acsUrl, requestId };
    },
  };
}

/**
 * The entity id the AuthnRequest names as its Issuer: the control plane's is its metadata URL, which a
 * provider that trusts the SP's published metadata reads.
 */
function requestIssuer(redirect: URL): string {
  const deflated = Buffer.from(redirect.searchParams.get("SAMLRequest") ?? "", "base64");
  const xml = inflateRawSync(deflated).toString("utf8");
  const issuer = /<saml:Issuer>([^<]+)<\/saml:Issuer>/.exec(xml)?.[1];
  if (!issuer) throw new Error(`no Issuer in the AuthnRequest: ${xml.slice(0, 300)}`);
  return issuer;
}

/** The decoded XML of a base64 SAMLResponse, for tests that tamper with it. */
export const decodeResponse = (samlResponse: string) => Buffer.from(samlResponse, "base64").toString("utf8");
export const encodeResponse = (xml: string) => Buffer.from(xml, "utf8").toString("base64");

export interface SamlIdpServer extends SamlIdp {
  ssoUrl: string;
  users: Map<string, SamlTestUser>;
  close(): Promise<void>;
}

const page = (body: string) =>
  `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Test IdP</title></head><body>${body}</body></html>`;

async function formBody(req: IncomingMessage): Promise<URLSearchParams> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return new URLSearchParams(Buffer.concat(chunks).toString("utf8"));
}

/**
 * The IdP behind a local HTTP server, as a browser meets one: GET /sso (the HTTP-Redirect binding) shows a
 * login form that keeps the request; POST /login answers it for the user named in the form with a page
 * that posts the signed response to the control plane's assertion consumer service by itself.
 */
export async function startSamlIdpServer(options: {
  users: Record<string, SamlTestUser>;
}): Promise<SamlIdpServer> {
  let server: Server | undefined;
  const listening = await new Promise<Server>((ok) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => ok(s));
  });
  server = listening;
  const { port } = listening.address() as { port: number };
  const origin = `http://127.0.0.1:${port}`;
  const ssoUrl = `${origin}/sso`;
  const idp = await createSamlIdp({ entityId: `${origin}/metadata`, ssoUrl });
  const users = new Map(Object.entries(options.users));

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? "/", origin);
    res.setHeader("cache-control", "no-store");
    if (req.method === "GET" && url.pathname === "/sso") {
      res.setHeader("content-type", "text/html; charset=utf-8");
      res.end(
        page(
          `<h1>Test IdP</h1><form method="post" action="/login"><input type="hidden" name="request" value="${xmlEscape(url.href)}">` +
            `<label for="username">Username</label><input id="username" name="username"><button type="submit">Log in</button></form>`,
        ),
      );
      return;
    }
    if (req.method === "POST" && url.pathname === "/login") {
      const form = await formBody(req);
      const user = users.get(form.get("username") ?? "");
      if (!user) {
        res.statusCode = 401;
        res.end(page("<p>Unknown user</p>"));
        return;
      }
      const answer = await idp.answer(form.get("request") ?? "", user);
      res.setHeader("content-type", "text/html; charset=utf-8");
      res.end(
        page(
          `<form method="post" action="${xmlEscape(answer.acsUrl)}"><input type="hidden" name="SAMLResponse" value="${xmlEscape(answer.samlResponse)}"><noscript><button type="submit">Continue</button></noscript></form>` +
            "<script>document.forms[0].submit()</script>",
        ),
      );
      return;
    }
    res.statusCode = 404;
    res.end();
  };
  listening.on("request", (req, res) => {
    handle(req, res).catch((err: unknown) => {
      res.statusCode = 500;
      res.end(String(err));
    });
  });

  return {
    ...idp,
    ssoUrl,
    users,
    close: () =>
      new Promise<void>((done) => {
        if (!server) return done();
        server.close(() => done());
        server.closeAllConnections();
        server = undefined;
      }),
  };
}
