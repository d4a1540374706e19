import { KeyObject, sign as signBytes, type webcrypto } from "node:crypto";
import {
  createLocalJWKSet,
  exportJWK,
  generateKeyPair,
  importJWK,
  type JSONWebKeySet,
  type JWK,
  type JWTVerifyGetKey,
} from "jose";
import { newId } from "#shared/ids.ts";
import { kvKeys } from "#shared/kv.ts";
import { MAX_TOKEN_TTL_SECONDS, TOKEN_ALG } from "#shared/oauth.ts";
import type { Db } from "../../platform/db/client.ts";
import { writeTransaction } from "../../platform/db/write-transaction.ts";
import type { EdgeStore } from "../../platform/edge-store/edge-store.ts";
import { type AuditContext, appendAudit, PLATFORM_AUDIT_CHAIN } from "../audit/audit.ts";
import {
  activeKeyRow,
  insertKey,
  publicKeys,
  setKeyTimes,
  unretiredKeysExcept,
} from "./queries/signing-keys.ts";

const SYSTEM_AUDIT: AuditContext = {
  actor: { type: "system", id: "key-ring" },
  requestId: null,
  ip: null,
  userAgent: null,
};

export interface ActiveKey {
  kid: string;
  privateKey: webcrypto.CryptoKey;
  /** The same key as a Node KeyObject, for the fast synchronous signer. */
  signingKey: KeyObject;
}

/**
 * Holds the signing key in memory and the published JWKS. A key is written to the JWKS (locally and at the
 * edge) before it is activated, so no token is ever signed by a key a verifier cannot find.
 */
export class KeyRing {
  #active: ActiveKey | undefined;
  #jwks: JSONWebKeySet = { keys: [] };
  #verifyKey: JWTVerifyGetKey = createLocalJWKSet({ keys: [] });
  #rotations: Promise<unknown> = Promise.resolve();
  #unknownKeyReload: Promise<void> | null = null;
  #lastUnknownKeyReload = 0;
  readonly #db: Db;
  readonly #edge: EdgeStore;
  readonly #retentionMs: number;

  constructor(db: Db, edge: EdgeStore) {
    this.#db = db;
    this.#edge = edge;
    // Any token a retired key signed has expired once the longest token lifetime (plus the verifiers'
    // 30 s clock leeway) has passed since the key stopped signing.
    this.#retentionMs = (MAX_TOKEN_TTL_SECONDS + 30) * 1000;
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
    const row = await activeKeyRow(this.#db);
    if (row) {
      await this.refreshJwks();
      this.#active = await activeKey(row.kid, row.privateJwk);
      return;
    }
    await this.rotate();
  }

  /**
   * Picks up a rotation another control-plane process made on the same database: when the active key
   * there is not the one in memory, reloads the published keys and the signer. One indexed read of a tiny
   * table, so it runs every few seconds (see `watch`).
   */
  async syncFromDatabase(): Promise<boolean> {
    const row = await activeKeyRow(this.#db);
    if (!row || row.kid === this.#active?.kid) return false;
    await this.#reloadJwks();
    this.#active = await activeKey(row.kid, row.privateJwk);
    return true;
  }

  /**
   * A token named a key this process does not know: another process may have just created or rotated one.
   * Re-reads the published keys (whatever the active key is) and the signer, at most once a second: a call
   * within a second of the last reload waits for the next one instead of failing, and callers arriving
   * while one is pending share it. Tokens with made-up key ids thus cost at most one small read a second,
   * and a real new key is found within a second. Resolves once the keys are reloaded.
   */
  reloadForUnknownKey(): Promise<void> {
    if (this.#unknownKeyReload) return this.#unknownKeyReload;
    const wait = Math.max(0, this.#lastUnknownKeyReload + 1000 - Date.now());
    const reload = (async () => {
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      this.#lastUnknownKeyReload = Date.now();
      await this.#reloadJwks();
      const row = await activeKeyRow(this.#db);
      if (row && row.kid !== this.#active?.kid) this.#active = await activeKey(row.kid, row.privateJwk);
    })().finally(() => {
      this.#unknownKeyReload = null;
    });
    this.#unknownKeyReload = reload;
    return reload;
  }

  /** Syncs every `intervalMs` on an unref'd timer; returns what stops it. */
  watch(intervalMs: number, onError: (err: unknown) => void): () => void {
    const timer = setInterval(() => {
      this.syncFromDatabase().catch(onError);
    }, intervalMs);
    timer.unref();
    return () => clearInterval(timer);
  }

  /**
   * Creates a key, publishes it, then makes it the signer and retires the previous one (each step audited on
   * the platform chain). A retired key stays in the JWKS until every token it signed has expired. Rotations
   * run one at a time.
   */
  rotate(audit: AuditContext = SYSTEM_AUDIT): Promise<string> {
    const run = this.#rotations.then(() => this.#rotate(audit));
    this.#rotations = run.catch(() => undefined);
    return run;
  }

  async #rotate(audit: AuditContext): Promise<string> {
    const { publicKey, privateKey } = await generateKeyPair(TOKEN_ALG, { crv: "Ed25519", extractable: true });
    const kid = newId("key");
    const publicJwk: JWK = { ...(await exportJWK(publicKey)), kid, alg: TOKEN_ALG, use: "sig" };
    const privateJwk: JWK = { ...(await exportJWK(privateKey)), kid, alg: TOKEN_ALG };
    await writeTransaction(this.#db, async (tx) => {
      await insertKey(tx, {
        kid,
        alg: TOKEN_ALG,
        publicJwk: JSON.stringify(publicJwk),
        privateJwk: JSON.stringify(privateJwk),
        createdAt: Date.now(),
      });
      await appendAudit(tx, audit, {
        tenantId: PLATFORM_AUDIT_CHAIN,
        action: "key.create",
        targets: [{ type: "key", id: kid }],
        details: { alg: TOKEN_ALG },
      });
    });
    // Published before it signs: no verifier ever sees a token whose key it cannot find.
    await this.#reloadJwks();
    await this.publishJwks();
    await writeTransaction(this.#db, async (tx) => {
      const now = Date.now();
      const previous = await unretiredKeysExcept(tx, kid);
      for (const old of previous) {
        await setKeyTimes(tx, old.kid, { retiredAt: now });
        await appendAudit(tx, audit, {
          tenantId: PLATFORM_AUDIT_CHAIN,
          action: "key.retire",
          targets: [{ type: "key", id: old.kid }],
          details: { replacedBy: kid, publishedUntil: new Date(now + this.#retentionMs).toISOString() },
        });
      }
      await setKeyTimes(tx, kid, { activatedAt: now, retiredAt: null });
    });
    this.#active = await activeKey(kid, JSON.stringify(privateJwk));
    return kid;
  }

  async publishJwks(): Promise<void> {
    await this.#edge.put(kvKeys.jwks(), JSON.stringify(this.#jwks));
  }

  /**
   * Signs an access token: a compact JWS (RFC 7515) with the active key. Node's synchronous Ed25519 signer
   * costs ~30 µs where WebCrypto's job-based one costs ~115 µs, which matters at a thousand tokens a second;
   * verifiers (jose, here and at the edge) check it like any other EdDSA JWT.
   */
  async sign(claims: Record<string, unknown>, ttlSeconds: number, issuer: string, audience: string) {
    const key = this.active();
    const jti = newId("token");
    const now = Math.floor(Date.now() / 1000);
    const header = { alg: TOKEN_ALG, kid: key.kid, typ: "at+jwt" };
    const payload = { ...claims, iss: issuer, aud: audience, iat: now, nbf: now, exp: now + ttlSeconds, jti };
    const signingInput = `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(payload))}`;
    const signature = signBytes(null, Buffer.from(signingInput), key.signingKey);
    return { token: `${signingInput}.${signature.toString("base64url")}`, jti };
  }

  /** Re-reads the keys and publishes the JWKS: the moment keys retired long enough ago drop out. */
  async refreshJwks(): Promise<void> {
    await this.#reloadJwks();
    await this.publishJwks();
  }

  async #reloadJwks(): Promise<void> {
    // A retired key stays published until the last token it signed has expired.
    const rows = await publicKeys(this.#db);
    const cutoff = Date.now() - this.#retentionMs;
    const keys = rows
      .filter((r) => r.retiredAt === null || r.retiredAt > cutoff)
      .map((r) => JSON.parse(r.publicJwk));
    this.#jwks = { keys };
    this.#verifyKey = createLocalJWKSet(this.#jwks);
  }
}

async function activeKey(kid: string, privateJwk: string): Promise<ActiveKey> {
  const privateKey = (await importJWK(JSON.parse(privateJwk) as JWK, TOKEN_ALG)) as webcrypto.CryptoKey;
  return { kid, privateKey, signingKey: KeyObject.from(privateKey) };
}

const base64url = (text: string) => Buffer.from(text, "utf8").toString("base64url");
