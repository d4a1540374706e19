import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import { bearerSecurity, errorResponses } from "../../../shared/src/openapi.ts";
import type { HonoEnv } from "../env.ts";
import { type KeyResolver, requireToken } from "../middleware/auth.ts";
import { loadProduction, tenantDeployment } from "../models/serving.ts";

const versionRef = z.object({ versionId: z.string(), version: z.number() });
const liveResponse = z
  .object({
    name: z.string(),
    revision: z.number(),
    production: versionRef,
    canary: versionRef.extend({ weight: z.number() }).nullable(),
    shadows: z.array(versionRef),
    threshold: z.number(),
    features: z.array(z.object({ name: z.string(), type: z.string(), required: z.boolean() })),
  })
  .meta({ id: "LiveModel" });

/** What serves the caller's tenant now; loading it doubles as the tenant's readiness check. */
export function registerModelsLive(app: OpenAPIHono<HonoEnv>, resolver: KeyResolver): void {
  const route = createRoute({
    method: "get",
    path: "/v1/models/live",
    summary: "The model serving the caller's tenant (loads it: a readiness check)",
    security: bearerSecurity,
    middleware: [requireToken({ resolver, scope: "predict" })] as const,
    responses: {
      200: { description: "Live model", content: { "application/json": { schema: liveResponse } } },
      ...errorResponses(401, 403, 503),
    },
  });
  app.openapi(route, async (c) => {
    const waitUntil = (p: Promise<unknown>) => c.executionCtx.waitUntil(p);
    const deployment = await tenantDeployment(c.env.EDGE_KV, c.get("principal").tenantId, waitUntil);
    const { model } = await loadProduction(c.env.EDGE_KV, deployment, waitUntil);
    const strip = (r: { versionId: string; version: number }) => ({
      versionId: r.versionId,
      version: r.version,
    });
    return c.json(
      {
        name: model.manifest.name,
        revision: deployment.revision,
        production: strip(deployment.production),
        canary: deployment.canary ? { ...strip(deployment.canary), weight: deployment.canary.weight } : null,
        shadows: deployment.shadows.map(strip),
        threshold: model.manifest.threshold,
        features: model.manifest.features.map((f) => ({ name: f.name, type: f.type, required: f.required })),
      },
      200,
    );
  });
}
