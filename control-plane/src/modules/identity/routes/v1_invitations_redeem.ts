import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import { jsonBody } from "#shared/content-type.ts";
import { redeemInvitationRequestSchema, redeemInvitationResponseSchema } from "#shared/identity.ts";
import { errorResponses } from "#shared/openapi.ts";
import type { HonoEnv } from "../../../platform/env.ts";
import { ADMIN_JSON_MAX_BYTES } from "../../../platform/http/body-limits.ts";
import { clientAddress } from "../../../platform/http/client-address.ts";
import { redeemInvitation } from "../invitations.ts";

export const redeemInvitationRoute = createRoute({
  method: "post",
  path: "/v1/invitations/redeem",
  summary: "Redeem an invitation code for your first personal access token (no other credential needed)",
  description:
    "The code works once, within 7 days, and never for a disabled user; an unknown, used, replaced or " +
    "expired code is the same 401. The token is shown only here.",
  middleware: [...jsonBody(ADMIN_JSON_MAX_BYTES)] as const,
  request: {
    body: { required: true, content: { "application/json": { schema: redeemInvitationRequestSchema } } },
  },
  responses: {
    201: {
      description: "You, now active, and your first token",
      content: { "application/json": { schema: redeemInvitationResponseSchema } },
    },
    ...errorResponses(400, 401, 413, 415),
  },
});

export function registerInvitationsRedeem(app: OpenAPIHono<HonoEnv>): void {
  app.openapi(redeemInvitationRoute, async (c) => {
    const redeemed = await redeemInvitation(
      c.get("deps").db,
      {
        requestId: c.get("requestId"),
        ip: clientAddress(c),
        userAgent: c.req.header("user-agent")?.slice(0, 256) ?? null,
      },
      c.req.valid("json").code,
    );
    c.header("cache-control", "no-store");
    return c.json(redeemInvitationResponseSchema.parse(redeemed), 201);
  });
}
