import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import { requireContentType } from "#shared/content-type.ts";
import { ChurnError, issuesFromZod } from "#shared/errors.ts";
import { tokenRequestSchema, tokenResponseSchema } from "#shared/oauth.ts";
import { errorResponses } from "#shared/openapi.ts";
import type { HonoEnv } from "../../../platform/env.ts";
import { clientAddress } from "../../../platform/http/client-address.ts";
import { authenticateClient } from "../clients.ts";

export const tokenRoute = createRoute({
  method: "post",
  path: "/v1/oauth/token",
  summary: "OAuth2 client-credentials grant (RFC 6749 §4.4)",
  description:
    "Send `grant_type=client_credentials` with the client id and secret as HTTP Basic or as form fields. " +
    "Returns a short-lived EdDSA-signed JWT accepted by the edge and the control plane.",
  middleware: [requireContentType("application/x-www-form-urlencoded")] as const,
  request: {
    body: {
      required: true,
      content: { "application/x-www-form-urlencoded": { schema: tokenRequestSchema } },
    },
  },
  responses: {
    200: { description: "Access token", content: { "application/json": { schema: tokenResponseSchema } } },
    ...errorResponses(400, 401, 415, 429),
  },
});

function basicCredentials(header: string | undefined): { id: string; secret: string } | null {
  const match = header ? /^Basic\s+([A-Za-z0-9+/=]+)$/i.exec(header) : null;
  if (!match) return null;
  const decoded = Buffer.from(match[1]!, "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  if (colon < 0) return null;
  // RFC 6749 §2.3.1: both parts are form-urlencoded before Basic encoding.
  try {
    return {
      id: decodeURIComponent(decoded.slice(0, colon).replace(/\+/g, " ")),
      secret: decodeURIComponent(decoded.slice(colon + 1).replace(/\+/g, " ")),
    };
  } catch {
    throw new ChurnError("invalid_client", "HTTP Basic credentials are not valid form-urlencoded text", {
      headers: { "www-authenticate": 'Basic realm="churn"' },
    });
  }
}

export function registerOauthToken(app: OpenAPIHono<HonoEnv>): void {
  app.openapi(
    tokenRoute,
    async (c) => {
      const deps = c.get("deps");
      const parsed = tokenRequestSchema.safeParse(await c.req.parseBody());
      if (!parsed.success) {
        throw new ChurnError("invalid_request", "Malformed token request", {
          issues: issuesFromZod(parsed.error),
        });
      }
      const body = parsed.data;
      if (body.grant_type !== "client_credentials") {
        throw new ChurnError("unsupported_grant_type", "Only grant_type=client_credentials is supported");
      }
      const basic = basicCredentials(c.req.header("authorization"));
      const clientId = basic?.id ?? body.client_id;
      const clientSecret = basic?.secret ?? body.client_secret;
      if (!clientId || !clientSecret) {
        throw new ChurnError(
          "invalid_client",
          "Client credentials are required (HTTP Basic or form fields)",
          {
            headers: { "www-authenticate": 'Basic realm="churn"' },
          },
        );
      }
      const source = clientAddress(c);
      const client = await authenticateClient(
        deps.db,
        clientId,
        clientSecret,
        deps.caches.verifiedSecrets,
        deps.caches.authThrottle,
        source ?? "unknown",
      );
      const granted = client.scopes;
      const requested = body.scope ? body.scope.split(" ").filter(Boolean) : granted;
      const notGranted = requested.filter((s) => !granted.includes(s));
      if (notGranted.length > 0) {
        throw new ChurnError("invalid_scope", `Scope not granted to this client: ${notGranted.join(" ")}`);
      }
      const scope = requested.join(" ");
      const ttl = deps.config.TOKEN_TTL_SECONDS;
      const { token, jti } = await deps.keys.sign(
        { tid: client.tenantId, sub: client.id, scope },
        ttl,
        deps.config.TOKEN_ISSUER,
        deps.config.TOKEN_AUDIENCE,
      );
      c.get("metrics").tokensIssued.inc();
      deps.tokenIssueAudit.record({
        tenantId: client.tenantId,
        clientId: client.id,
        scope,
        jti,
        expiresAt: Date.now() + ttl * 1000,
        ip: source,
        userAgent: c.req.header("user-agent")?.slice(0, 256) ?? null,
        requestId: c.get("requestId"),
      });
      c.header("cache-control", "no-store");
      c.header("pragma", "no-cache");
      return c.json({ access_token: token, token_type: "Bearer" as const, expires_in: ttl, scope }, 200);
    },
    (result) => {
      // RFC 6749 §5.2: a malformed token request is `invalid_request`, not the platform's INVALID_REQUEST.
      if (!result.success) {
        throw new ChurnError("invalid_request", "Malformed token request", {
          issues: issuesFromZod(result.error),
        });
      }
    },
  );
}
