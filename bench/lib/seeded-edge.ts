import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { exportJWK, generateKeyPair, SignJWT } from "jose";
import { sha256Hex } from "#shared/hash.ts";
import { kvKeys } from "#shared/kv.ts";
import { type LocalEdge, startLocalEdge } from "../../scripts/lib/local-edge.ts";
import { SAMPLE_CUSTOMER, trainFixtureModel } from "../../test/helpers/model-fixture.ts";

const ISSUER = "urn:churn:control-plane";
const AUDIENCE = "urn:churn:api";
const TENANT_ID = "tnt_bench";

export interface EdgeBenchSetup {
  /** A workerd serving the built bundle, with the fixture model deployed for the bench tenant. */
  startSeededEdge(options?: { inspectorPort?: number }): Promise<LocalEdge>;
  /** Authorization and content type for the bench tenant's predict requests. */
  headers: Record<string, string>;
  /** One Telco-like record, as an API client would send it. */
  oneRecord: string;
  /** 1,000 records with explanations asked for. */
  batch: string;
  close(): void;
}

/**
 * What the edge benchmarks share: a model trained from 3,000 synthetic Telco rows in `dir`, a signing key
 * and a 2-hour token for one tenant, and a sink standing in for the control plane, which accepts every
 * event batch the queue consumer delivers, so retries of undeliverable events don't load the worker being
 * measured. The tenant's rate limit is raised far above what one machine can send: the runs measure
 * capacity, with the limiter still on the path, rather than the limit.
 */
export async function prepareEdgeBench(dir: string): Promise<EdgeBenchSetup> {
  const fixture = await trainFixtureModel(dir, { rows: 3000, seed: 5 });
  const { publicKey, privateKey } = await generateKeyPair("EdDSA", { crv: "Ed25519", extractable: true });
  const kid = "key_bench";
  const jwks = { keys: [{ ...(await exportJWK(publicKey)), kid, alg: "EdDSA", use: "sig" }] };
  const token = await new SignJWT({ tid: TENANT_ID, scope: "predict" })
    .setProtectedHeader({ alg: "EdDSA", kid })
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setSubject("cli_bench")
    .setIssuedAt()
    .setExpirationTime("2h")
    .setJti("tok_bench")
    .sign(privateKey);

  const sink = createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end('{"accepted":0,"duplicates":0}');
    });
  });
  await new Promise<void>((done) => sink.listen(0, "127.0.0.1", () => done()));
  const sinkUrl = `http://127.0.0.1:${(sink.address() as AddressInfo).port}`;
  const sha256 = await sha256Hex(fixture.bytes);

  return {
    async startSeededEdge(options = {}) {
      const edge = await startLocalEdge({
        port: 0,
        issuer: ISSUER,
        audience: AUDIENCE,
        ingestSecret: "bench-ingest-secret",
        quiet: true,
        ...options,
      });
      const versionId = "mv_bench";
      await edge.kv.put(kvKeys.controlPlane(), JSON.stringify({ url: sinkUrl }));
      await edge.kv.put(kvKeys.jwks(), JSON.stringify(jwks));
      await edge.kv.put(
        kvKeys.limits(TENANT_ID),
        JSON.stringify({ tenant: { ratePerSecond: 100_000, burst: 1_000_000 }, clients: {} }),
      );
      await edge.kv.put(kvKeys.modelBytes(versionId), fixture.bytes.slice().buffer);
      await edge.kv.put(kvKeys.modelManifest(versionId), fixture.manifestText);
      await edge.kv.put(
        kvKeys.deployment(TENANT_ID),
        JSON.stringify({
          tenantId: TENANT_ID,
          revision: 1,
          production: { versionId, version: 1, sha256 },
          shadows: [],
          allowUnknownFields: false,
          updatedAt: new Date().toISOString(),
        }),
      );
      return edge;
    },
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    oneRecord: JSON.stringify({ records: [{ customerId: "c1", ...SAMPLE_CUSTOMER }] }),
    batch: JSON.stringify({
      explain: true,
      records: Array.from({ length: 1000 }, (_, i) => ({
        ...SAMPLE_CUSTOMER,
        tenure: i % 72,
        customerId: `c${i}`,
      })),
    }),
    close: () => sink.close(),
  };
}
