import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import { eq } from "drizzle-orm";
import { ChurnError } from "#shared/errors.ts";
import { bearerSecurity, errorResponses } from "#shared/openapi.ts";
import { modelVersionArtifacts } from "../../../platform/db/schema/index.ts";
import type { HonoEnv } from "../../../platform/env.ts";
import { idParams } from "../../../platform/http/path-params.ts";
import { authenticate, requirePermission } from "../../../platform/middleware/auth.ts";
import { getTenantVersion } from "../../registry/registry.ts";
import { getJobRow } from "../jobs.ts";

export const retrainingProductionModelRoute = createRoute({
  method: "get",
  path: "/v1/retraining/jobs/{id}/production-model",
  summary: "The ONNX bytes of the production version the job compares against (as at its claim)",
  description:
    "The worker scores it on the common holdout with the candidate; `x-model-sha256` names the bytes.",
  security: bearerSecurity,
  middleware: [authenticate(), requirePermission("retraining:run")] as const,
  request: { params: idParams("job_0123456789abcdefghij") },
  responses: {
    200: {
      description: "model.onnx",
      content: { "application/octet-stream": { schema: z.string().openapi({ format: "binary" }) } },
    },
    ...errorResponses(400, 401, 403, 404),
  },
});

export function registerRetrainingProductionModel(app: OpenAPIHono<HonoEnv>): void {
  app.openapi(retrainingProductionModelRoute, async (c) => {
    const db = c.get("deps").db;
    const tenantId = c.get("principal").tenantId;
    const job = await getJobRow(db, tenantId, c.req.valid("param").id);
    if (!job.productionVersionId) {
      throw new ChurnError("NOT_FOUND", `Job '${job.id}' has no production version to compare with`);
    }
    const { row } = await getTenantVersion(db, tenantId, job.productionVersionId);
    const [artifact] = await db
      .select({ onnx: modelVersionArtifacts.onnx })
      .from(modelVersionArtifacts)
      .where(eq(modelVersionArtifacts.modelVersionId, row.id))
      .limit(1);
    if (!artifact) throw new ChurnError("NOT_FOUND", `Model version '${row.id}' has no stored bytes`);
    return c.body(new Uint8Array(artifact.onnx), 200, {
      "content-type": "application/octet-stream",
      "x-model-sha256": row.sha256,
      "x-model-version-id": row.id,
    });
  });
}
