import { X509Certificate } from "node:crypto";
import type { SamlCertificate } from "#shared/saml.ts";
import { toIso } from "#shared/time.ts";

/**
 * The provider's signing certificates, as tenants paste them. Only the public key matters (it is pinned: a
 * response verifies only against a key configured here, never against a certificate the response carries
 * unless it is one of these), so a certificate is checked for what verification needs: one well-formed
 * X.509 certificate with an RSA key strong enough for the RSA-SHA256 and RSA-SHA512 signatures accepted.
 */

/** The smallest RSA modulus accepted; NIST has disallowed shorter keys for signatures since 2013. */
export const MIN_RSA_BITS = 2048;

const PEM_BLOCK = /-----BEGIN CERTIFICATE-----\r?\n?([A-Za-z0-9+/=\s]+?)-----END CERTIFICATE-----/g;

export type ParsedCertificate = { pem: string; details: SamlCertificate } | { problem: string };

/** One PEM certificate, normalised (`X509Certificate#toString`), or what is wrong with it. */
export function parseCertificate(text: string): ParsedCertificate {
  const blocks = [...text.trim().matchAll(PEM_BLOCK)];
  if (blocks.length !== 1 || blocks[0]![0].length !== text.trim().length)
    return {
      problem:
        "expected exactly one PEM certificate (-----BEGIN CERTIFICATE----- … -----END CERTIFICATE-----)",
    };
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(text.trim());
  } catch {
    return { problem: "not a valid X.509 certificate" };
  }
  const key = cert.publicKey;
  if (key.asymmetricKeyType !== "rsa")
    return {
      problem: `holds a ${key.asymmetricKeyType ?? "unknown"} key; responses are verified with RSA-SHA256 or RSA-SHA512, so it must hold an RSA key`,
    };
  const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
  if (bits < MIN_RSA_BITS)
    return { problem: `holds a ${bits}-bit RSA key; at least ${MIN_RSA_BITS} bits are required` };
  return { pem: cert.toString(), details: describeCertificate(cert) };
}

function describeCertificate(cert: X509Certificate): SamlCertificate {
  return {
    subject: cert.subject.replaceAll("\n", ", "),
    notBefore: toIso(Date.parse(cert.validFrom)),
    notAfter: toIso(Date.parse(cert.validTo)),
    sha256Fingerprint: cert.fingerprint256,
  };
}

/** What a stored (already validated) certificate is, for the settings the API shows. */
export function certificateDetails(pem: string): SamlCertificate {
  return describeCertificate(new X509Certificate(pem));
}
