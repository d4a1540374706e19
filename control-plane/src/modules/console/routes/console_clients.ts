import type { Context, Hono } from "hono";
import { z } from "zod";
import {
  createClientRequestSchema,
  MAX_SECRET_OVERLAP_SECONDS,
  updateClientRequestSchema,
} from "#shared/identity.ts";
import { publishTenantLimits } from "../../deployments/rate-limits.ts";
import {
  createApiClient,
  revokeApiClient,
  rotateClientSecret,
  updateApiClient,
} from "../../identity/api-clients.ts";
import { publishRevokedClients } from "../../identity/revocations.ts";
import type { ConsoleEnv } from "../env.ts";
import { auditOf, changing, field, formOf, parseForm } from "../http.ts";
import { clientsPage, type ShownSecret } from "../pages/clients.ts";

const clientId = z.string().min(1).max(64);

/** Both fields or neither: a rate limit is a rate and a burst. */
function rateLimitOf(
  form: Record<string, string[]>,
): { ratePerSecond: number; burst: number } | null | "partial" {
  const rate = field(form, "ratePerSecond");
  const burst = field(form, "burst");
  if (rate === undefined && burst === undefined) return null;
  if (rate === undefined || burst === undefined) return "partial";
  return { ratePerSecond: Number(rate), burst: Number(burst) };
}

function formInput(form: Record<string, string[]>) {
  const limit = rateLimitOf(form);
  return {
    name: field(form, "name"),
    scopes: form["scopes"] ?? [],
    rateLimit: limit === "partial" ? { ratePerSecond: Number.NaN, burst: Number.NaN } : limit,
  };
}

const secretPage = async (c: Context<ConsoleEnv>, secret: ShownSecret) => {
  // The secret is in this response only: never cached, never put in a URL or a log.
  c.header("cache-control", "no-store");
  return c.html(await clientsPage(c, { secret }));
};

/** Create, edit, rotate and revoke API clients, through the same services as /v1/clients. */
export function registerConsoleClients(app: Hono<ConsoleEnv>): void {
  app.post("/clients", ...changing("clients:write"), async (c) => {
    const deps = c.get("deps");
    const tenantId = c.get("principal").tenantId;
    const input = formInput(await formOf(c));
    const body = parseForm(createClientRequestSchema, { ...input, rateLimit: input.rateLimit ?? undefined });
    const created = await createApiClient(deps.db, auditOf(c), { tenantId, ...body });
    if (body.rateLimit) await publishTenantLimits(deps.db, deps.edge, tenantId);
    return secretPage(c, {
      clientId: created.client.id,
      clientName: created.client.name,
      secret: created.clientSecret,
      rotated: false,
    });
  });

  app.post("/clients/:id", ...changing("clients:write"), async (c) => {
    const deps = c.get("deps");
    const tenantId = c.get("principal").tenantId;
    const id = parseForm(clientId, c.req.param("id"));
    const patch = parseForm(updateClientRequestSchema, formInput(await formOf(c)));
    const { rateLimitChanged } = await updateApiClient(deps.db, auditOf(c), tenantId, id, patch);
    if (rateLimitChanged) await publishTenantLimits(deps.db, deps.edge, tenantId);
    return c.redirect("/console/clients?done=updated", 303);
  });

  app.post("/clients/:id/rotate", ...changing("clients:write"), async (c) => {
    const id = parseForm(clientId, c.req.param("id"));
    const form = await formOf(c);
    const { overlapHours } = parseForm(
      z.object({
        overlapHours: z.coerce
          .number()
          .min(0)
          .max(MAX_SECRET_OVERLAP_SECONDS / 3600),
      }),
      { overlapHours: field(form, "overlapHours") ?? "24" },
    );
    const rotated = await rotateClientSecret(
      c.get("deps").db,
      auditOf(c),
      c.get("principal").tenantId,
      id,
      Math.round(overlapHours * 3600),
    );
    return secretPage(c, {
      clientId: rotated.client.id,
      clientName: rotated.client.name,
      secret: rotated.clientSecret,
      rotated: true,
    });
  });

  app.post("/clients/:id/revoke", ...changing("clients:write"), async (c) => {
    const deps = c.get("deps");
    const tenantId = c.get("principal").tenantId;
    const id = parseForm(clientId, c.req.param("id"));
    const { client, changed } = await revokeApiClient(deps.db, auditOf(c), tenantId, id);
    // As the API does: the edge's revocation list is rebuilt and re-sent, even on a repeated revoke.
    await publishRevokedClients(deps.db, deps.edge);
    if (changed && client.rateLimit) await publishTenantLimits(deps.db, deps.edge, tenantId);
    return c.redirect("/console/clients?done=revoked", 303);
  });
}
