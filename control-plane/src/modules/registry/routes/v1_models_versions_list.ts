import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import { ChurnError } from "#shared/errors.ts";
import { bearerSecurity, errorResponses } from "#shared/openapi.ts";
import { modelVersionSchema } from "#shared/registry.ts";
import type { HonoEnv } from "../../../platform/env.ts";
import { authenticate, requirePermission } from "../../../platform/middleware/auth.ts";
import { latestVersionPrepared, modelIdByNamePrepared, newestVersionsPrepared } from "../queries.ts";
import { toModelVersion } from "../registry.ts";

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
    const { db, caches } = c.get("deps");
    // A model's list is fully determined by its latest version number: a cached list is served while one
    // indexed lookup still finds that number, instead of reading and serializing up to 100 manifests again.
    // (Whether a version has a report is fixed when it is published, so it cannot change either.)
    const serializedLists = caches.versionLists;
    const [model] = await modelIdByNamePrepared(db).all({ tenantId, name });
    if (!model) throw new ChurnError("NOT_FOUND", `Model '${name}' not found`);
    const [latest] = await latestVersionPrepared(db).all({ modelId: model.id });
    let cached = serializedLists.get(model.id);
    if (!cached || cached.latest !== (latest?.version ?? 0)) {
      const rows = await newestVersionsPrepared(db).all({ modelId: model.id, tenantId });
      // Built from stored rows that were validated at publish; not validated again on this hot path.
      const body = JSON.stringify({
        versions: rows.map((r) => toModelVersion(r.version, name, r.hasReport)),
      });
      cached = { latest: rows[0]?.version.version ?? 0, body };
      serializedLists.set(model.id, cached);
    }
    return c.body(cached.body, 200, { "content-type": "application/json" }) as never;
  });
}
