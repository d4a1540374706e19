import { z } from "zod";
import { monthlyQuotaSchema, rateLimitSchema } from "./kv.ts";
import { scopeSchema } from "./scopes.ts";

/** People's roles within a tenant; what each may do is the control plane's permission matrix. */
export const ROLES = ["owner", "admin", "ml-engineer", "analyst", "auditor"] as const;
export const roleSchema = z.enum(ROLES);
export type Role = z.infer<typeof roleSchema>;

/** A personal access token lives at most a year. */
export const MAX_PAT_TTL_DAYS = 365;

export const userSchema = z
  .object({
    id: z.string(),
    email: z.string(),
    name: z.string(),
    role: roleSchema,
    /** Set once the person signs in through an OIDC provider (issuer + subject identify them). */
    oidc: z.object({ issuer: z.string(), subject: z.string() }).nullable(),
    status: z
      .enum(["invited", "active", "disabled", "deleted"])
      .describe(
        "invited until the person redeems their invitation; disabled and deleted users cannot authenticate",
      ),
    createdAt: z.string(),
  })
  .meta({ id: "User" });
export type User = z.infer<typeof userSchema>;

export const userListSchema = z.object({ users: z.array(userSchema) }).meta({ id: "UserList" });

export const createUserRequestSchema = z
  .object({
    email: z.email().max(254),
    name: z.string().trim().min(1).max(128).optional().describe("Display name; the email when omitted"),
    role: roleSchema,
  })
  .meta({ id: "CreateUserRequest" });
export type CreateUserRequest = z.infer<typeof createUserRequestSchema>;

export const updateUserRequestSchema = z.object({ role: roleSchema }).meta({ id: "UpdateUserRequest" });

export const personalAccessTokenSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    createdAt: z.string(),
    expiresAt: z.string(),
    revokedAt: z.string().nullable(),
  })
  .meta({ id: "PersonalAccessToken" });
export type PersonalAccessTokenInfo = z.infer<typeof personalAccessTokenSchema>;

/** A token as created: the only time `token` itself is shown. */
export const newPersonalAccessTokenSchema = personalAccessTokenSchema
  .extend({ token: z.string().describe("Shown once; only its sha256 is stored") })
  .meta({ id: "NewPersonalAccessToken" });

export const personalAccessTokenListSchema = z
  .object({ tokens: z.array(personalAccessTokenSchema) })
  .meta({ id: "PersonalAccessTokenList" });

export const createPatRequestSchema = z
  .object({
    name: z.string().trim().min(1).max(64),
    ttlDays: z.number().int().min(1).max(MAX_PAT_TTL_DAYS).default(30),
  })
  .meta({ id: "CreatePersonalAccessTokenRequest" });

/** An invitation as created: the only time its code is shown. */
export const invitationSchema = z
  .object({
    id: z.string(),
    code: z
      .string()
      .describe(
        "Shown once; hand it to the person, who redeems it at POST /v1/invitations/redeem for their first token",
      ),
    expiresAt: z.string(),
  })
  .meta({ id: "Invitation" });
export type Invitation = z.infer<typeof invitationSchema>;

/** Creating a user hands the creator an invitation, never a credential of the new user. */
export const createUserResponseSchema = z
  .object({ user: userSchema, invitation: invitationSchema })
  .meta({ id: "CreateUserResponse" });

export const redeemInvitationRequestSchema = z
  .object({ code: z.string().min(1).max(128) })
  .meta({ id: "RedeemInvitationRequest" });

export const redeemInvitationResponseSchema = z
  .object({ user: userSchema, token: newPersonalAccessTokenSchema })
  .meta({ id: "RedeemInvitationResponse" });

export const revokeUserTokensResponseSchema = z
  .object({ revoked: z.number().int().describe("Personal access tokens and console sessions revoked") })
  .meta({ id: "RevokeUserTokensResponse" });

export const apiClientSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    scopes: z.array(scopeSchema),
    rateLimit: rateLimitSchema.nullable().describe("The client's own limit at the edge; null: the tenant's"),
    monthlyPredictionQuota: monthlyQuotaSchema
      .nullable()
      .describe("The client's own monthly prediction quota, within the tenant's; null: only the tenant's"),
    createdAt: z.string(),
    revokedAt: z.string().nullable(),
    previousSecretExpiresAt: z
      .string()
      .nullable()
      .describe("Until then the secret replaced by the last rotation is still accepted"),
  })
  .meta({ id: "ApiClient" });
export type ApiClient = z.infer<typeof apiClientSchema>;

export const apiClientListSchema = z
  .object({ clients: z.array(apiClientSchema) })
  .meta({ id: "ApiClientList" });

export const createClientRequestSchema = z
  .object({
    name: z.string().trim().min(1).max(64),
    scopes: z.array(scopeSchema).min(1).max(16),
    rateLimit: rateLimitSchema.optional(),
    monthlyPredictionQuota: monthlyQuotaSchema.optional(),
  })
  .meta({ id: "CreateApiClientRequest" });

/** A client with its secret: returned by creation and rotation, the only times the secret is shown. */
export const apiClientWithSecretSchema = z
  .object({
    client: apiClientSchema,
    clientSecret: z.string().describe("Shown once; only a scrypt hash is stored"),
  })
  .meta({ id: "ApiClientWithSecret" });

/** At most 7 days: long enough to roll a secret through every deployment, short enough to matter. */
export const MAX_SECRET_OVERLAP_SECONDS = 7 * 86_400;
export const DEFAULT_SECRET_OVERLAP_SECONDS = 86_400;

export const rotateClientRequestSchema = z
  .object({
    overlapSeconds: z
      .number()
      .int()
      .min(0)
      .max(MAX_SECRET_OVERLAP_SECONDS)
      .default(DEFAULT_SECRET_OVERLAP_SECONDS)
      .describe("How long the previous secret keeps working (default 24 h, at most 7 days)"),
  })
  .meta({ id: "RotateApiClientRequest" });

export const updateClientRequestSchema = z
  .object({
    name: z.string().trim().min(1).max(64).optional(),
    scopes: z.array(scopeSchema).min(1).max(16).optional(),
    rateLimit: rateLimitSchema.nullable().optional().describe("null removes the client's own limit"),
    monthlyPredictionQuota: monthlyQuotaSchema
      .nullable()
      .optional()
      .describe("null removes the client's own monthly prediction quota"),
  })
  .refine(
    (b) =>
      b.name !== undefined ||
      b.scopes !== undefined ||
      b.rateLimit !== undefined ||
      b.monthlyPredictionQuota !== undefined,
    { message: "send at least one of name, scopes, rateLimit, monthlyPredictionQuota" },
  )
  .meta({ id: "UpdateApiClientRequest" });
