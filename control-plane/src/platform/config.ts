import { z } from "zod";
import { MAX_TOKEN_TTL_SECONDS } from "#shared/oauth.ts";

/** Every setting the control plane reads, validated once at start-up. `.env.example` documents each. */
export const configSchema = z.object({
  CONTROL_PLANE_PORT: z.coerce.number().int().min(0).max(65535).default(8788),
  CONTROL_PLANE_HOST: z.string().default("127.0.0.1"),
  DATABASE_URL: z.string().default("file:.data/control-plane.db"),
  DATABASE_AUTH_TOKEN: z.string().optional(),
  TOKEN_ISSUER: z.string().default("urn:churn:control-plane"),
  TOKEN_AUDIENCE: z.string().default("urn:churn:api"),
  /** Lifetime of issued tokens; capped by the age past which both services refuse any token. */
  TOKEN_TTL_SECONDS: z.coerce.number().int().min(60).max(MAX_TOKEN_TTL_SECONDS).default(900),
  MAX_MODEL_BYTES: z.coerce
    .number()
    .int()
    .positive()
    .default(24 * 1024 * 1024),
  CLOUDFLARE_ACCOUNT_ID: z.string().optional(),
  CLOUDFLARE_API_TOKEN: z.string().optional(),
  CLOUDFLARE_KV_NAMESPACE_ID: z.string().optional(),
  /** The Cloudflare API the KV store calls (a compatible endpoint in tests); the public API by default. */
  CLOUDFLARE_API_BASE: z.string().url().optional(),
  /** Shared with the edge worker: verifies event deliveries from its queue consumer. */
  INGEST_SECRET: z.string().min(16).optional(),
  /** The URL the edge's queue consumer delivers to; published to KV at start-up when set. */
  PUBLIC_URL: z.string().url().optional(),
  /**
   * Bearer token of the platform operator for /v1/admin routes (signing-key rotation). Unset, those routes
   * do not exist (404), so their existence is not revealed.
   */
  OPERATOR_TOKEN: z.preprocess((v) => (v === "" ? undefined : v), z.string().min(32).optional()),
  /**
   * Bearer token Prometheus scrapes /metrics with. Set, /metrics requires it and includes the per-tenant
   * monitoring series (labelled with tenant ids); unset, /metrics is open and carries platform totals only.
   */
  METRICS_TOKEN: z.preprocess((v) => (v === "" ? undefined : v), z.string().min(32).optional()),
  /**
   * The audit chain's HMAC key (≥ 32 characters), from a secret store in production; never stored in the
   * database, never logged. Unset, a `file:` database gets one generated once beside it (`audit-hmac.key`,
   * owner-only), so `npm start` needs no setup; any other database refuses to start without it.
   */
  AUDIT_HMAC_KEY: z.preprocess((v) => (v === "" ? undefined : v), z.string().min(32).optional()),
  /**
   * Seconds between signed checkpoints of the audit chains that grew (to edge KV). Deleting entries written
   * since the last checkpoint goes unnoticed, so this is that window.
   */
  AUDIT_CHECKPOINT_INTERVAL_SECONDS: z.coerce.number().int().min(1).max(3600).default(60),
  /** Seconds between scheduler ticks (alerts, webhooks, retraining schedules, leases, canaries); 0 = off. */
  SCHEDULER_INTERVAL_SECONDS: z.coerce.number().int().min(0).max(86_400).default(60),
  /**
   * Let webhooks reach private, loopback and link-local addresses. Off by default (a tenant's webhook
   * must not make the control plane call into its own network); the local platform turns it on.
   */
  WEBHOOK_ALLOW_PRIVATE_NETWORKS: z.stringbool().default(false),
  /**
   * Let tenants' single sign-on providers be on private, loopback or link-local addresses, and use plain
   * http there. Off by default (the issuer is a tenant's choice, like a webhook URL); the local platform
   * turns it on for a provider running beside it.
   */
  SSO_ALLOW_PRIVATE_NETWORKS: z.stringbool().default(false),
  /**
   * Proxies in front of the control plane that append to X-Forwarded-For (a load balancer, Caddy, an
   * ingress): the client's address, used by the login throttle and the audit log, is read that many
   * entries from the end. 0 ignores the header.
   */
  TRUST_PROXY_HOPS: z.coerce.number().int().min(0).max(10).default(0),
  LOG_LEVEL: z.enum(["debug", "info", "warn", "error", "silent"]).default("info"),
});
export type Config = z.infer<typeof configSchema>;

export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const parsed = configSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ");
    throw new Error(`Invalid control-plane configuration: ${problems}`);
  }
  return parsed.data;
}
