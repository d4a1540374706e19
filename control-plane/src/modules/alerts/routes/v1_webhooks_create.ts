import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import { webhookCreatedSchema, webhookCreateRequestSchema } from "#shared/alerts.ts";
import { jsonBody } from "#shared/content-type.ts";
import { validationError } from "#shared/errors.ts";
import { bearerSecurity, errorResponses } from "#shared/openapi.ts";
import { SIGNATURE_HEADER } from "#shared/signature.ts";
import type { HonoEnv } from "../../../platform/env.ts";
import { ADMIN_JSON_MAX_BYTES } from "../../../platform/http/body-limits.ts";
import { authenticate, requirePermission } from "../../../platform/middleware/auth.ts";
import { auditContextOf } from "../../audit/request-audit.ts";
import { literalDestinationProblem } from "../destination.ts";
import { createWebhook, MANAGE_WEBHOOKS } from "../webhooks.ts";

export const createWebhookRoute = createRoute({
  method: "post",
  path: "/v1/webhooks",
  summary: "Add a webhook for alerts; its signing secret is shown once",
  description:
    `Each alert firing or resolving is POSTed as JSON with \`${SIGNATURE_HEADER}: t=<unix>,v1=<hex ` +
    'HMAC-SHA256(secret, "<t>.<body>")>`. Failed deliveries are retried with backoff. Deliveries only ' +
    "connect to public addresses (checked as each connection opens) unless the operator allows private " +
    "networks. The URL is treated as a credential: lists show it in full only to those who may manage " +
    "webhooks, and the audit log records its scheme and host only.",
  security: bearerSecurity,
  middleware: [
    authenticate(),
    requirePermission(MANAGE_WEBHOOKS),
    ...jsonBody(ADMIN_JSON_MAX_BYTES),
  ] as const,
  request: {
    body: { required: true, content: { "application/json": { schema: webhookCreateRequestSchema } } },
  },
  responses: {
    201: {
      description: "Created; `secret` is shown only here",
      content: { "application/json": { schema: webhookCreatedSchema } },
    },
    ...errorResponses(400, 401, 403, 413, 415),
  },
});

export function registerWebhooksCreate(app: OpenAPIHono<HonoEnv>): void {
  app.openapi(createWebhookRoute, async (c) => {
    const deps = c.get("deps");
    const body = c.req.valid("json");
    const problem = literalDestinationProblem(body.url, deps.config.WEBHOOK_ALLOW_PRIVATE_NETWORKS);
    if (problem !== null) throw validationError([{ path: "url", message: problem }]);
    const created = await createWebhook(
      c.get("deps").db,
      auditContextOf(c),
      c.get("principal").tenantId,
      body,
    );
    return c.json(webhookCreatedSchema.parse(created), 201);
  });
}
