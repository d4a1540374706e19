import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import { type LiveModel, liveModelSchema } from "#shared/live-model.ts";
import { bearerSecurity, errorResponses } from "#shared/openapi.ts";
import type { HonoEnv } from "../env.ts";
import { type KeyResolver, requireToken } from "../middleware/auth.ts";
import { loadProduction, tenantDeployment } from "../models/serving.ts";

const versionOf = (r: { versionId: string; version: number }) => ({
  versionId: r.versionId,
  version: r.version,
});

/**
 * What serves the caller's tenant now; loading it doubles as the tenant's readiness check. Under a
 * last-known-good fallback it names the version that actually scores, not the one deployed.
 */
export function registerModelsLive(app: OpenAPIHono<HonoEnv>, resolver: KeyResolver): void {
  const route = createRoute({
    method: "get",
    path: "/v1/models/live",
    summary: "The model serving the caller's tenant (loads it: a readiness check)",
    description:
      "`production` is the version that scores production traffic on this edge. While the deployed version " +
      "cannot be loaded, the tenant's last known good version keeps serving: `servedBy` is then " +
      "`last-known-good` and `deployed` names the version the deployment asked for.",
    security: bearerSecurity,
    middleware: [requireToken({ resolver, scope: "predict" })] as const,
    responses: {
      200: { description: "Live model", content: { "application/json": { schema: liveModelSchema } } },
      ...errorResponses(401, 403, 503),
    },
  });
  app.openapi(route, async (c) => {
    const waitUntil = (p: Promise<unknown>) => c.executionCtx.waitUntil(p);
    const deployment = await tenantDeployment(c.env.EDGE_KV, c.get("principal").tenantId, waitUntil);
    const { model, ref, servedBy } = await loadProduction(c.env.EDGE_KV, deployment, waitUntil);
    c.get("event").modelVersionId = ref.versionId;
    const live: LiveModel = {
      name: model.manifest.name,
      revision: deployment.revision,
      production: versionOf(ref),
      servedBy,
      deployed: versionOf(deployment.production),
      canary: deployment.canary
        ? { ...versionOf(deployment.canary), weight: deployment.canary.weight }
        : null,
      shadows: deployment.shadows.map(versionOf),
      threshold: model.manifest.threshold,
      features: model.manifest.features.map((f) => ({ name: f.name, type: f.type, required: f.required })),
    };
    return c.json(live, 200);
  });
}
