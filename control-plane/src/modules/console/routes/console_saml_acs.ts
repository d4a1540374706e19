import type { Context, Hono, MiddlewareHandler } from "hono";
import { limitBody, requireContentType } from "#shared/content-type.ts";
import { ChurnError } from "#shared/errors.ts";
import { idPattern } from "#shared/ids.ts";
import type { HonoEnv } from "../../../platform/env.ts";
import { clientAddress } from "../../../platform/http/client-address.ts";
import { publicOrigin } from "../../sso/public-origin.ts";
import { completeSamlSignIn } from "../../sso/saml/sign-in.ts";
import type { ConsoleEnv } from "../env.ts";
import { finishFederatedSignIn } from "../federated-session.ts";
import { field, formOf } from "../http.ts";
import { takeSamlFlow } from "../sso-flow.ts";

/**
 * The largest response the assertion consumer service reads. A signed response with a few dozen groups is
 * 10-30 KiB once base64-encoded; the ceiling leaves room for providers that send hundreds, and keeps an
 * unauthenticated caller from making the server parse megabytes of XML.
 */
export const SAML_ACS_MAX_BYTES = 128 * 1024;
export const SAML_ACS_PATH = /^\/console\/saml\/[^/]+\/acs$/;

/**
 * POST /console/saml/{tenantId}/acs: the provider's answer (HTTP-POST binding), posted by the person's
 * browser from the provider's page. Like the OpenID Connect callback it is outside the console session and
 * its CSRF check (it is a cross-site POST by design, with the provider's Origin): what proves it belongs to
 * this browser is the flow cookie, whose request id the signed response must answer. Then the person is
 * found, linked or created in the tenant, and a console session starts as a token sign-in's does.
 */
export function registerConsoleSamlAcs(app: Hono<ConsoleEnv>): void {
  app.post(
    "/saml/:tenantId/acs",
    requireContentType("application/x-www-form-urlencoded") as MiddlewareHandler<ConsoleEnv>,
    limitBody(SAML_ACS_MAX_BYTES) as MiddlewareHandler<ConsoleEnv>,
    async (c) => {
      c.header("cache-control", "no-store");
      const hc = c as unknown as Context<HonoEnv>;
      const tenantId = c.req.param("tenantId");
      if (!idPattern("tenant").test(tenantId))
        throw new ChurnError("NOT_FOUND", "Single sign-on is not set up for this tenant");
      // Before the body is parsed: a post this browser did not ask for costs no XML work.
      const flow = takeSamlFlow(hc, tenantId);
      const samlResponse = field(await formOf(c), "SAMLResponse");
      if (samlResponse === undefined || !/^[A-Za-z0-9+/=\s]+$/.test(samlResponse))
        throw new ChurnError("INVALID_REQUEST", "The identity provider's answer (SAMLResponse) is missing");
      const { user } = await completeSamlSignIn(
        c.get("deps"),
        {
          requestId: c.get("requestId"),
          ip: clientAddress(hc),
          userAgent: c.req.header("user-agent")?.slice(0, 256) ?? null,
        },
        flow,
        publicOrigin(c),
        samlResponse,
      );
      return finishFederatedSignIn(hc, user);
    },
  );
}
