import type { AccessTokenClaims } from "#shared/oauth.ts";
import type { DeploymentEdgeStatus } from "#shared/registry.ts";
import { AuthThrottle } from "../modules/identity/auth-throttle.ts";
import { VerifiedSecretCache } from "../modules/identity/verified-secret-cache.ts";
import { BoundedLru } from "./cache/bounded-lru.ts";

/**
 * What one control-plane process remembers between requests, created with its dependencies so each
 * instance (and each test's) has its own. Which of these a second replica would need to share is in
 * docs/adr/0006-single-process-state.md.
 */
export interface ProcessCaches {
  /** The token endpoint's verified client secrets (see VerifiedSecretCache). */
  verifiedSecrets: VerifiedSecretCache;
  /** Client-secret checks: failures counted in the database per client and source, hashing capped here. */
  authThrottle: AuthThrottle;
  /**
   * Access tokens whose signature and claims verified, by the token's sha256, until they expire: the
   * signature check is most of a read request's cost. The client row is still read on every request.
   */
  verifiedTokens: BoundedLru<AccessTokenClaims>;
  /**
   * Serialized version lists by model id, valid while the model's latest version number is unchanged
   * (versions are immutable and never deleted). Bounded to 64 MiB in total.
   */
  versionLists: BoundedLru<{ latest: number; body: string }>;
  /**
   * The edge's confirmation of a deployment revision, by tenant and revision, for a second or a few (see
   * edge-confirmation.ts): reading it is a KV request (Cloudflare's API in production), far dearer than
   * the rest of `GET /v1/deployment`.
   */
  edgeConfirmations: BoundedLru<DeploymentEdgeStatus>;
}

export function createProcessCaches(): ProcessCaches {
  return {
    verifiedSecrets: new VerifiedSecretCache(),
    authThrottle: new AuthThrottle(),
    verifiedTokens: new BoundedLru<AccessTokenClaims>({ maxEntries: 10_000 }),
    versionLists: new BoundedLru<{ latest: number; body: string }>({
      maxEntries: 1_000,
      maxWeight: 64 * 1024 * 1024,
      weigh: (entry) => entry.body.length,
    }),
    edgeConfirmations: new BoundedLru<DeploymentEdgeStatus>({ maxEntries: 10_000 }),
  };
}
