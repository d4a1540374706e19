import { createHash, timingSafeEqual } from "node:crypto";
import type { MiddlewareHandler } from "hono";
import { ChurnError } from "#shared/errors.ts";
import type { HonoEnv } from "../../platform/env.ts";

const digest = (text: string) => createHash("sha256").update(text, "utf8").digest();

/**
 * Admits only the platform operator: `Authorization: Bearer <OPERATOR_TOKEN>`. Tenant credentials (personal
 * access tokens, client tokens) never pass, whatever their role or scopes. Both sides are hashed before a
 * constant-time comparison, so neither the content nor the length of the token leaks through timing.
 */
export function requireOperator(operatorToken: string): MiddlewareHandler<HonoEnv> {
  const expected = digest(operatorToken);
  return async (c, next) => {
    const match = /^Bearer\s+(\S+)$/i.exec(c.req.header("authorization") ?? "");
    const presented = digest(match?.[1] ?? "");
    if (!match || !timingSafeEqual(presented, expected)) {
      throw new ChurnError("UNAUTHORIZED", "This route needs the platform operator token", {
        headers: { "www-authenticate": 'Bearer realm="churn-operator"' },
      });
    }
    await next();
  };
}
