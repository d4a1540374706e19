import type { Context } from "hono";
import { z } from "zod";
import { listApiClients } from "../identity/api-clients.ts";
import { isAllowed } from "../identity/permissions.ts";
import type { ConsoleEnv } from "./env.ts";
import { field } from "./http.ts";
import { page } from "./layout.ts";
import { clientsView, type ShownSecret } from "./views/clients.ts";

/** The API clients page and the parsing its forms share. */

export const clientId = z.string().min(1).max(64);

/** Both fields or neither: a rate limit is a rate and a burst. */
export function rateLimitOf(
  form: Record<string, string[]>,
): { ratePerSecond: number; burst: number } | null | "partial" {
  const rate = field(form, "ratePerSecond");
  const burst = field(form, "burst");
  if (rate === undefined && burst === undefined) return null;
  if (rate === undefined || burst === undefined) return "partial";
  return { ratePerSecond: Number(rate), burst: Number(burst) };
}

/** Empty: no quota of the client's own. */
export function quotaOf(form: Record<string, string[]>, name = "monthlyPredictionQuota"): number | null {
  const value = field(form, name);
  return value === undefined ? null : Number(value);
}

export function formInput(form: Record<string, string[]>) {
  const limit = rateLimitOf(form);
  return {
    name: field(form, "name"),
    scopes: form["scopes"] ?? [],
    rateLimit: limit === "partial" ? { ratePerSecond: Number.NaN, burst: Number.NaN } : limit,
    monthlyPredictionQuota: quotaOf(form),
  };
}

export const secretPage = async (c: Context<ConsoleEnv>, secret: ShownSecret) => {
  // The secret is in this response only: never cached, never put in a URL or a log.
  c.header("cache-control", "no-store");
  return c.html(await clientsPage(c, { secret }));
};

/** The clients page through the identity module, with a secret or a notice to show. */
export async function clientsPage(
  c: Context<ConsoleEnv>,
  shown: { secret?: ShownSecret | undefined; flash?: { kind: "ok" | "error"; text: string } | undefined },
) {
  const principal = c.get("principal");
  const clients = await listApiClients(c.get("deps").db, principal.tenantId);
  const view = clientsView({
    clients,
    canWrite: isAllowed(principal, "clients:write"),
    csrfToken: c.get("consoleUser").csrfToken,
    ...shown,
  });
  return page(c, view);
}
