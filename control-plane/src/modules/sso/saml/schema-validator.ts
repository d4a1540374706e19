import assertionSchema from "@authenio/samlify-node-xmllint/build/schemas/saml-schema-assertion-2.0.xsd.js";
import protocolSchema from "@authenio/samlify-node-xmllint/build/schemas/saml-schema-protocol-2.0.xsd.js";
import encryptionSchema from "@authenio/samlify-node-xmllint/build/schemas/xenc-schema.xsd.js";
import signatureSchema from "@authenio/samlify-node-xmllint/build/schemas/xmldsig-core-schema.xsd.js";
import { validateXML, type XMLFileInfo } from "xmllint-wasm";

/**
 * Schema validation of every SAML message before samlify reads it, as samlify requires: a message that
 * does not follow the SAML 2.0 protocol schema (and the assertion, XML-DSig and XML-Enc schemas it
 * imports) is refused before any signature or value in it is looked at, which closes off the malformed
 * documents that signature-wrapping attacks depend on.
 *
 * It runs libxml2's xmllint compiled to WebAssembly (xmllint-wasm), in a worker thread per message: pure
 * Node, no Java and no native library, and nothing the validator allocates outlives the message. The
 * schemas are the standards' own documents, unmodified, as @authenio/samlify-node-xmllint packages them (only
 * its schema strings are used, pinned by the lockfile, not its validator); xmllint is given them as local
 * files and `--nonet`, so a message can make it fetch nothing.
 */

const SCHEMAS: XMLFileInfo[] = [
  { fileName: "saml-schema-protocol-2.0.xsd", contents: protocolSchema },
  { fileName: "saml-schema-assertion-2.0.xsd", contents: assertionSchema },
  { fileName: "xmldsig-core-schema.xsd", contents: signatureSchema },
  { fileName: "xenc-schema.xsd", contents: encryptionSchema },
];

/** Refuses (rejects) a message that is not schema-valid SAML; resolves otherwise. */
export async function validateSamlSchema(xml: string): Promise<string> {
  const [protocol, ...imported] = SCHEMAS;
  const result = await validateXML({
    xml: [{ fileName: "message.xml", contents: xml }],
    schema: [protocol!],
    preload: imported,
    modifyArguments: (args) => ["--nonet", ...args],
  });
  if (!result.valid) {
    const first = result.errors[0]?.message ?? "not schema-valid";
    throw new Error(`ERR_SCHEMA_VALIDATION: ${first}`.slice(0, 300));
  }
  return "SUCCESS_VALIDATE_XML";
}
