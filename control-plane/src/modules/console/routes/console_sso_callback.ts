import type { Context, Hono } from "hono";
import type { HonoEnv } from "../../../platform/env.ts";
import { clientAddress } from "../../../platform/http/client-address.ts";
import { publicOrigin } from "../../sso/public-origin.ts";
import { ssoRedirectUri } from "../../sso/settings.ts";
import { completeSsoSignIn } from "../../sso/sign-in.ts";
import type { ConsoleEnv } from "../env.ts";
import { finishFederatedSignIn } from "../federated-session.ts";
import { takeFlow } from "../sso-flow.ts";

/**
 * GET /console/sso/callback: where the provider sends the person back. The state must match the flow
 * this browser started; the provider's answer is verified; the person is found, linked or created in the
 * flow's tenant; then a console session starts exactly as a token sign-in's does.
 */
export function registerConsoleSsoCallback(app: Hono<ConsoleEnv>): void {
  app.get("/sso/callback", async (c) => {
    c.header("cache-control", "no-store");
    const hc = c as unknown as Context<HonoEnv>;
    const flow = takeFlow(hc, c.req.query("state"));
    const { user } = await completeSsoSignIn(
      c.get("deps"),
      {
        requestId: c.get("requestId"),
        ip: clientAddress(hc),
        userAgent: c.req.header("user-agent")?.slice(0, 256) ?? null,
      },
      flow,
      ssoRedirectUri(publicOrigin(c)),
      new URL(c.req.url).search,
    );
    return finishFederatedSignIn(hc, user);
  });
}
