import { and, eq, isNull } from "drizzle-orm";
import {
  createLocalJWKSet,
  exportJWK,
  generateKeyPair,
  importJWK,
  type JSONWebKeySet,
  type JWK,
  type JWTVerifyGetKey,
  SignJWT,
} from "jose";
import { newId } from "../../../shared/src/ids.ts";
import { kvKeys } from "../../../shared/src/kv.ts";
import { TOKEN_ALG } from "../../../shared/src/oauth.ts";
import type { Db } from "../db/client.ts";
import { signingKeys } from "../db/schema/index.ts";
import type { EdgeStore } from "../edge-store/edge-store.ts";
import { type AuditContext, appendAudit, PLATFORM_AUDIT_CHAIN } from "../services/audit.ts";

const SYSTEM_AUDIT: AuditContext = {
  actor: { type: "system", id: "key-ring" },
  requestId: null,
  ip: null,
  userAgent: null,
};

export interface ActiveKey {
  kid: string;
  privateKey: CryptoKey;
}

/**
 * Holds the signing key in memory and the published JWKS. A key is written to the JWKS (locally and at the
 * edge) before it is activated, so no token is ever signed by a key a verifier cannot find.
 */
export class KeyRing {
  #active: ActiveKey | undefined;
  #jwks: JSONWebKeySet = { keys: [] };
  #verifyKey: JWTVerifyGetKey = createLocalJWKSet({ keys: [] });
  readonly #db: Db;
  readonly #edge: EdgeStore;

  constructor(db: Db, edge: EdgeStore) {
    this.#db = db;
    this.#edge = edge;
  }

  get jwks(): JSONWebKeySet {
    return this.#jwks;
  }

  get verifyKey(): JWTVerifyGetKey {
    return this.#verifyKey;
  }

  active(): ActiveKey {
    if (!this.#active) throw new Error("KeyRing not initialised: call ensureActive() at start-up");
    return this.#active;
  }

  /** Loads the active key, creating and publishing the first one on a new database. */
  async ensureActive(): Promise<void> {
    const [row] = await this.#db
      .select()
      .from(signingKeys)
      .where(and(isNull(signingKeys.retiredAt)))
      .orderBy(signingKeys.createdAt)
      .limit(1);
    if (row?.activatedAt) {
      await this.#reloadJwks();
      await this.publishJwks();
      this.#active = { kid: row.kid, privateKey: await importPrivate(row.privateJwk) };
      return;
    }
    await this.rotate();
  }

  /** Creates a key, publishes it, then makes it the signer; the old key stays published until retired. */
  async rotate(audit: AuditContext = SYSTEM_AUDIT): Promise<string> {
    const { publicKey, privateKey } = await generateKeyPair(TOKEN_ALG, { crv: "Ed25519", extractable: true });
    const kid = newId("key");
    const publicJwk: JWK = { ...(await exportJWK(publicKey)), kid, alg: TOKEN_ALG, use: "sig" };
    const privateJwk: JWK = { ...(await exportJWK(privateKey)), kid, alg: TOKEN_ALG };
    const now = Date.now();
    await this.#db.transaction(async (tx) => {
      await tx.insert(signingKeys).values({
        kid,
        alg: TOKEN_ALG,
        publicJwk: JSON.stringify(publicJwk),
        privateJwk: JSON.stringify(privateJwk),
        createdAt: now,
      });
      await appendAudit(tx, audit, {
        tenantId: PLATFORM_AUDIT_CHAIN,
        action: "key.create",
        targets: [{ type: "key", id: kid }],
        details: { alg: TOKEN_ALG },
      });
    });
    await this.#reloadJwks();
    await this.publishJwks();
    await this.#db
      .update(signingKeys)
      .set({ retiredAt: now })
      .where(and(isNull(signingKeys.retiredAt), eq(signingKeys.alg, TOKEN_ALG)));
    await this.#db
      .update(signingKeys)
      .set({ activatedAt: now, retiredAt: null })
      .where(eq(signingKeys.kid, kid));
    this.#active = { kid, privateKey: await importPrivate(JSON.stringify(privateJwk)) };
    return kid;
  }

  async publishJwks(): Promise<void> {
    await this.#edge.put(kvKeys.jwks(), JSON.stringify(this.#jwks));
  }

  async sign(claims: Record<string, unknown>, ttlSeconds: number, issuer: string, audience: string) {
    const key = this.active();
    const jti = newId("token");
    const token = await new SignJWT({ ...claims })
      .setProtectedHeader({ alg: TOKEN_ALG, kid: key.kid, typ: "at+jwt" })
      .setIssuer(issuer)
      .setAudience(audience)
      .setIssuedAt()
      .setNotBefore("0s")
      .setExpirationTime(`${ttlSeconds}s`)
      .setJti(jti)
      .sign(key.privateKey);
    return { token, jti };
  }

  async #reloadJwks(): Promise<void> {
    // Every key that has not been retired for longer than a token lifetime stays published.
    const rows = await this.#db.select().from(signingKeys);
    const cutoff = Date.now() - 24 * 3600 * 1000;
    const keys = rows
      .filter((r) => r.retiredAt === null || r.retiredAt > cutoff)
      .map((r) => JSON.parse(r.publicJwk));
    this.#jwks = { keys };
    this.#verifyKey = createLocalJWKSet(this.#jwks);
  }
}

async function importPrivate(json: string): Promise<CryptoKey> {
  return (await importJWK(JSON.parse(json) as JWK, TOKEN_ALG)) as CryptoKey;
}
