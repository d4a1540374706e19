import { env, SELF } from "cloudflare:test";
import { exportJWK, generateKeyPair, type JWK, SignJWT } from "jose";
import { sha256Hex } from "#shared/hash.ts";
import { newId } from "#shared/ids.ts";
import { type EdgeDeployment, kvKeys } from "#shared/kv.ts";
import { type Manifest, manifestSchema } from "#shared/manifest.ts";

export const EDGE = "https://edge.test";

interface SigningKey {
  kid: string;
  privateKey: CryptoKey;
  publicJwk: JWK;
}

let signingKey: Promise<SigningKey> | undefined;

/** One EdDSA key per test file, published to KV exactly as the control plane publishes its JWKS. */
export function testSigningKey(): Promise<SigningKey> {
  signingKey ??= (async () => {
    const { publicKey, privateKey } = await generateKeyPair("EdDSA", { crv: "Ed25519", extractable: true });
    const kid = newId("key");
    const publicJwk = { ...(await exportJWK(publicKey)), kid, alg: "EdDSA", use: "sig" };
    const existing = await env.EDGE_KV.get<{ keys: JWK[] }>(kvKeys.jwks(), "json");
    await env.EDGE_KV.put(kvKeys.jwks(), JSON.stringify({ keys: [...(existing?.keys ?? []), publicJwk] }));
    return { kid, privateKey: privateKey as CryptoKey, publicJwk };
  })();
  return signingKey;
}

export interface TokenOptions {
  scope?: string;
  tenantId?: string;
  audience?: string;
  issuer?: string;
  expiresIn?: string | number;
  notBefore?: string | number;
  /** Epoch seconds; `null` leaves the claim out; default now. */
  issuedAt?: number | null;
  kid?: string;
  key?: CryptoKey;
}

export type FixtureKind = "linear" | "tree" | "mlp";

const decode = (b64: string) => Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));

/**
 * The linear fixture (contributions in the graph), the calibrated tree fixture (TreeSHAP explainer) and
 * the uncalibrated MLP fixture (DeepLIFT explainer), as the global setup trained them.
 */
function fixture(kind: FixtureKind): { modelB64: string; manifest: string; explainer?: string } {
  if (kind === "tree") {
    return {
      modelB64: env.TEST_TREE_MODEL_B64,
      manifest: env.TEST_TREE_MANIFEST,
      explainer: env.TEST_TREE_EXPLAINER,
    };
  }
  if (kind === "mlp") {
    return {
      modelB64: env.TEST_MLP_MODEL_B64,
      manifest: env.TEST_MLP_MANIFEST,
      explainer: env.TEST_MLP_EXPLAINER,
    };
  }
  return { modelB64: env.TEST_MODEL_B64, manifest: env.TEST_MANIFEST };
}

export function modelBytes(kind: FixtureKind = "linear"): Uint8Array {
  return decode(fixture(kind).modelB64);
}

export function fixtureManifest(kind: FixtureKind = "linear"): Manifest {
  return manifestSchema.parse(JSON.parse(fixture(kind).manifest));
}

/**
 * Puts a model version's bytes, explainer and manifest under their immutable keys; returns the version
 * reference. The reference always carries the genuine model's sha256, so passing other bytes simulates
 * corruption.
 */
export async function seedVersion(bytes?: Uint8Array, version = 1, kind: FixtureKind = "linear") {
  const versionId = newId("modelVersion");
  const { explainer, manifest } = fixture(kind);
  await env.EDGE_KV.put(kvKeys.modelBytes(versionId), bytes ?? modelBytes(kind));
  if (explainer) await env.EDGE_KV.put(kvKeys.modelExplainer(versionId), explainer);
  await env.EDGE_KV.put(kvKeys.modelManifest(versionId), manifest);
  return { versionId, version, sha256: await sha256Hex(modelBytes(kind)) };
}

export async function writePointer(
  tenantId: string,
  deployment: Omit<EdgeDeployment, "tenantId" | "updatedAt">,
) {
  const pointer: EdgeDeployment = { tenantId, updatedAt: new Date().toISOString(), ...deployment };
  await env.EDGE_KV.put(kvKeys.deployment(tenantId), JSON.stringify(pointer));
}

/** A fresh tenant per test, with the fixture model deployed to production unless told otherwise. */
export async function newTenant(options: { deploy?: boolean; kind?: FixtureKind } = {}) {
  const tenantId = newId("tenant");
  const key = await testSigningKey();
  const production = options.deploy === false ? undefined : await seedVersion(undefined, 1, options.kind);
  if (production)
    await writePointer(tenantId, { revision: 1, production, shadows: [], allowUnknownFields: false });

  const token = (opts: TokenOptions = {}) => {
    const jwt = new SignJWT({ tid: opts.tenantId ?? tenantId, scope: opts.scope ?? "predict feedback:write" })
      .setProtectedHeader({ alg: "EdDSA", kid: opts.kid ?? key.kid })
      .setIssuer(opts.issuer ?? env.TOKEN_ISSUER)
      .setAudience(opts.audience ?? env.TOKEN_AUDIENCE)
      .setSubject(newId("client"))
      .setNotBefore(opts.notBefore ?? "0s")
      .setExpirationTime(opts.expiresIn ?? "10m")
      .setJti(newId("token"));
    if (opts.issuedAt !== null) jwt.setIssuedAt(opts.issuedAt);
    return jwt.sign(opts.key ?? key.privateKey);
  };

  const predict = async (body: unknown, init: { token?: string; contentType?: string } = {}) =>
    SELF.fetch(`${EDGE}/v1/predict`, {
      method: "POST",
      headers: {
        authorization: `Bearer ${init.token ?? (await token())}`,
        "content-type": init.contentType ?? "application/json",
      },
      body: typeof body === "string" ? body : JSON.stringify(body),
    });

  return { tenantId, production, token, predict, key };
}

/** A raw customer record that matches the fixture model's schema. */
export function customer(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const record: Record<string, unknown> = {};
  for (const feature of fixtureManifest().features) {
    record[feature.name] =
      feature.type === "numeric"
        ? ((feature.min ?? 0) + (feature.max ?? 1)) / 2
        : (feature.categories[0] ?? "x");
  }
  return { ...record, ...overrides };
}

export async function errorOf(res: Response): Promise<{
  code: string;
  message: string;
  requestId: string;
  issues?: { path: string; message: string }[];
}> {
  const body = (await res.json()) as {
    error: { code: string; message: string; requestId: string; issues?: { path: string; message: string }[] };
  };
  return body.error;
}
