import type { Hono } from "hono";
import { z } from "zod";
import { MAX_SECRET_OVERLAP_SECONDS } from "#shared/identity.ts";
import { rotateClientSecret } from "../../identity/api-clients.ts";
import { clientId, secretPage } from "../client-forms.ts";
import type { ConsoleEnv } from "../env.ts";
import { auditOf, changing, field, formOf, parseForm } from "../http.ts";

/** POST /console/clients/:id/rotate. */
export function registerConsoleClientsRotate(app: Hono<ConsoleEnv>): void {
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
}
