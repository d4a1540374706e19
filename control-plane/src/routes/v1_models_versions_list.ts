import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import { and, desc, eq } from "drizzle-orm";
import { ChurnError } from "../../../shared/src/errors.ts";
import { bearerSecurity, errorResponses } from "../../../shared/src/openapi.ts";
import { modelVersionSchema } from "../../../shared/src/registry.ts";
import { models, modelVersions } from "../db/schema/index.ts";
import type { HonoEnv } from "../env.ts";
import { authenticate, requirePermission } from "../middleware/auth.ts";
import { toModelVersion } from "../services/registry.ts";

const listResponse = z.object({ versions: z.array(modelVersionSchema) }).meta({ id: "ModelVersionList" });

export const listVersionsRoute = createRoute({
  method: "get",
  path: "/v1/models/{name}/versions",
  summary: "A model's versions, newest first",
  security: bearerSecurity,
  middleware: [authenticate(), requirePermission("models:read")] as const,
  request: {
    params: z.object({
      name: z
        .string()
        .max(64)
        .openapi({ param: { name: "name", in: "path" }, example: "churn" }),
    }),
  },
  responses: {
    200: { description: "Versions", content: { "application/json": { schema: listResponse } } },
    ...errorResponses(401, 403, 404),
  },
});

export function registerModelVersionsList(app: OpenAPIHono<HonoEnv>): void {
  app.openapi(listVersionsRoute, async (c) => {
    const { name } = c.req.valid("param");
    const tenantId = c.get("principal").tenantId;
    const db = c.get("deps").db;
    const [model] = await db
      .select({ id: models.id })
      .from(models)
      .where(and(eq(models.tenantId, tenantId), eq(models.name, name)))
      .limit(1);
    if (!model) throw new ChurnError("NOT_FOUND", `Model '${name}' not found`);
    const rows = await db
      .select()
      .from(modelVersions)
      .where(and(eq(modelVersions.modelId, model.id), eq(modelVersions.tenantId, tenantId)))
      .orderBy(desc(modelVersions.version))
      .limit(100);
    return c.json(listResponse.parse({ versions: rows.map((r) => toModelVersion(r, name)) }), 200);
  });
}
