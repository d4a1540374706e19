import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import { ChurnError } from "#shared/errors.ts";
import { bearerSecurity, errorResponses } from "#shared/openapi.ts";
import type { HonoEnv } from "../../../platform/env.ts";
import { idParams } from "../../../platform/http/path-params.ts";
import { authenticate, requirePermission } from "../../../platform/middleware/auth.ts";
import { getVersionOnnx } from "../../registry/registry.ts";
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
    const { row, onnx } = await getVersionOnnx(db, tenantId, job.productionVersionId);
    return c.body(onnx, 200, {
      "content-type": "application/octet-stream",
      "x-model-sha256": row.sha256,
      "x-model-version-id": row.id,
    });
  });
}
