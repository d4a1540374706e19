import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import { and, desc, eq, sql } from "drizzle-orm";
import { ChurnError } from "#shared/errors.ts";
import { bearerSecurity, errorResponses } from "#shared/openapi.ts";
import { modelVersionSchema } from "#shared/registry.ts";
import { BoundedLru } from "../../../platform/cache/bounded-lru.ts";
import { preparedPerDatabase } from "../../../platform/db/prepared.ts";
import { models, modelVersions } from "../../../platform/db/schema/index.ts";
import type { HonoEnv } from "../../../platform/env.ts";
import { authenticate, requirePermission } from "../../../platform/middleware/auth.ts";
import { hasReportSql, toModelVersion } from "../registry.ts";

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

const modelByName = preparedPerDatabase((db) =>
  db
    .select({ id: models.id })
    .from(models)
    .where(and(eq(models.tenantId, sql.placeholder("tenantId")), eq(models.name, sql.placeholder("name"))))
    .limit(1)
    .prepare(),
);

const newestVersions = preparedPerDatabase((db) =>
  db
    .select({ version: modelVersions, hasReport: hasReportSql })
    .from(modelVersions)
    .where(
      and(
        eq(modelVersions.modelId, sql.placeholder("modelId")),
        eq(modelVersions.tenantId, sql.placeholder("tenantId")),
      ),
    )
    .orderBy(desc(modelVersions.version))
    .limit(100)
    .prepare(),
);

const latestVersion = preparedPerDatabase((db) =>
  db
    .select({ version: modelVersions.version })
    .from(modelVersions)
    .where(eq(modelVersions.modelId, sql.placeholder("modelId")))
    .orderBy(desc(modelVersions.version))
    .limit(1)
    .prepare(),
);

/**
 * Serialized lists by model id. Versions are immutable and never deleted, so a model's list is fully
 * determined by its latest version number: a cached list is served while one indexed lookup still finds
 * that number, instead of reading and serializing up to 100 manifests again. (Whether a version has a report
 * is fixed when it is published, so it cannot change under a cached list either.) Bounded to 64 MiB in total.
 */
const serializedLists = new BoundedLru<{ latest: number; body: string }>({
  maxEntries: 1_000,
  maxWeight: 64 * 1024 * 1024,
  weigh: (entry) => entry.body.length,
});

export function registerModelVersionsList(app: OpenAPIHono<HonoEnv>): void {
  app.openapi(listVersionsRoute, async (c) => {
    const { name } = c.req.valid("param");
    const tenantId = c.get("principal").tenantId;
    const db = c.get("deps").db;
    const [model] = await modelByName(db).all({ tenantId, name });
    if (!model) throw new ChurnError("NOT_FOUND", `Model '${name}' not found`);
    const [latest] = await latestVersion(db).all({ modelId: model.id });
    let cached = serializedLists.get(model.id);
    if (!cached || cached.latest !== (latest?.version ?? 0)) {
      const rows = await newestVersions(db).all({ modelId: model.id, tenantId });
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
