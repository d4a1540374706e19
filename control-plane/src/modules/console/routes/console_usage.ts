import type { Hono } from "hono";
import { monthOf } from "#shared/time.ts";
import { usageQuerySchema } from "#shared/usage.ts";
import { isAllowed } from "../../identity/permissions.ts";
import { usageOf } from "../../usage/usage.ts";
import type { ConsoleEnv } from "../env.ts";
import { doneFlash, parseForm, viewing } from "../http.ts";
import { page } from "../layout.ts";
import { usageView } from "../views/usage.ts";

/** GET /console/usage: a month's predictions against the monthly quotas (default: this month). */
export function registerConsoleUsage(app: Hono<ConsoleEnv>): void {
  app.get("/usage", ...viewing("monitoring:read"), async (c) => {
    const deps = c.get("deps");
    const principal = c.get("principal");
    const currentMonth = monthOf(Date.now());
    const { month } = parseForm(usageQuerySchema, { month: c.req.query("month") || undefined });
    const usage = await usageOf(deps.db, deps.edge, principal.tenantId, month ?? currentMonth);
    return c.html(
      page(
        c,
        usageView({
          usage,
          currentMonth,
          canSetQuota: isAllowed(principal, "settings:write"),
          csrfToken: c.get("consoleUser").csrfToken,
          flash: doneFlash(c.req.query("done")),
        }),
      ),
    );
  });
}
