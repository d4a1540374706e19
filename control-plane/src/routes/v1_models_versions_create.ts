import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import { bodyLimit } from "hono/body-limit";
import { requireContentType } from "../../../shared/src/content-type.ts";
import { ChurnError, issuesFromZod, validationError } from "../../../shared/src/errors.ts";
import {
  type ExperimentRunInput,
  experimentRunsInputSchema,
  MAX_EXPERIMENT_RUNS,
} from "../../../shared/src/experiments.ts";
import { manifestSchema } from "../../../shared/src/manifest.ts";
import { bearerSecurity, errorResponses } from "../../../shared/src/openapi.ts";
import { publishResponseSchema } from "../../../shared/src/registry.ts";
import type { HonoEnv } from "../env.ts";
import { authenticate, requirePermission } from "../middleware/auth.ts";
import { idempotencyHeaders, idempotent } from "../middleware/idempotency.ts";
import { publishModelVersion } from "../services/registry.ts";
import { auditContextOf } from "../services/request-audit.ts";

const modelNameParam = z.object({
  name: z
    .string()
    .regex(/^[a-z0-9][a-z0-9-]{0,63}$/)
    .openapi({ param: { name: "name", in: "path" }, example: "churn" }),
});

const publishForm = z.object({
  manifest: z.string().openapi({ description: "manifest.json as written by `churn train`" }),
  model: z.any().openapi({ type: "string", format: "binary", description: "model.onnx" }),
  explainer: z.any().optional().openapi({
    type: "string",
    format: "binary",
    description: "explainer.json, when the manifest declares one",
  }),
  runs: z
    .string()
    .optional()
    .openapi({
      description: `JSON array (at most ${MAX_EXPERIMENT_RUNS}) of the experiment runs behind this model: {family, params, cvMetrics, seconds}`,
    }),
});

/** The runs field is JSON text; a few hundred runs with parameters fit well within this. */
const MAX_RUNS_FIELD_BYTES = 4 * 1024 * 1024;

function parseRuns(field: unknown): ExperimentRunInput[] | undefined {
  if (field === undefined) return undefined;
  if (typeof field !== "string") {
    throw new ChurnError("INVALID_REQUEST", "Form field 'runs' must be JSON text", {
      issues: [{ path: "runs", message: "expected JSON text" }],
    });
  }
  if (field.length > MAX_RUNS_FIELD_BYTES) {
    throw new ChurnError("PAYLOAD_TOO_LARGE", `Form field 'runs' exceeds ${MAX_RUNS_FIELD_BYTES} bytes`);
  }
  let json: unknown;
  try {
    json = JSON.parse(field);
  } catch {
    throw new ChurnError("INVALID_REQUEST", "Form field 'runs' is not valid JSON", {
      issues: [{ path: "runs", message: "not valid JSON" }],
    });
  }
  const parsed = experimentRunsInputSchema.safeParse(json);
  if (!parsed.success)
    throw validationError(issuesFromZod(parsed.error, "runs"), "Form field 'runs' is invalid");
  return parsed.data;
}

export function createPublishRoute(maxBytes: number) {
  return createRoute({
    method: "post",
    path: "/v1/models/{name}/versions",
    summary: "Publish a model version (idempotent on the ONNX bytes)",
    description:
      "The same bytes under the same model answer 200 with the existing version. `Idempotency-Key` also " +
      "replays the first response (status and body) to a retried upload.",
    security: bearerSecurity,
    middleware: [
      authenticate(),
      requirePermission("models:publish"),
      requireContentType("multipart/form-data"),
      bodyLimit({
        maxSize: maxBytes + MAX_RUNS_FIELD_BYTES + 1024 * 1024,
        onError: () => {
          throw new ChurnError("PAYLOAD_TOO_LARGE", `Upload exceeds ${maxBytes} bytes`);
        },
      }),
      idempotent(),
    ] as const,
    request: {
      params: modelNameParam,
      headers: idempotencyHeaders,
      body: { content: { "multipart/form-data": { schema: publishForm } } },
    },
    responses: {
      200: {
        description: "Already published",
        content: { "application/json": { schema: publishResponseSchema } },
      },
      201: { description: "Published", content: { "application/json": { schema: publishResponseSchema } } },
      ...errorResponses(400, 401, 403, 413, 415, 422),
    },
  });
}

export function registerModelVersionsCreate(app: OpenAPIHono<HonoEnv>, maxBytes: number): void {
  app.openapi(createPublishRoute(maxBytes), async (c) => {
    const { name } = c.req.valid("param");
    const form = await c.req.parseBody();
    const manifestText = form["manifest"];
    const model = form["model"];
    const explainer = form["explainer"];
    const runs = parseRuns(form["runs"]);
    if (explainer !== undefined && !(explainer instanceof File) && typeof explainer !== "string") {
      throw new ChurnError("INVALID_REQUEST", "Form field 'explainer' must be a single file", {
        issues: [{ path: "explainer", message: "expected one file" }],
      });
    }
    if (typeof manifestText !== "string") {
      throw new ChurnError("INVALID_REQUEST", "Form field 'manifest' (JSON text) is required", {
        issues: [{ path: "manifest", message: "required" }],
      });
    }
    if (!(model instanceof File)) {
      throw new ChurnError("INVALID_REQUEST", "Form field 'model' (the ONNX file) is required", {
        issues: [{ path: "model", message: "required file" }],
      });
    }
    // The body limit leaves room for the manifest and multipart framing; the model itself gets the exact limit.
    if (model.size > maxBytes) {
      throw new ChurnError("PAYLOAD_TOO_LARGE", `Model file exceeds ${maxBytes} bytes`);
    }
    let manifestJson: unknown;
    try {
      manifestJson = JSON.parse(manifestText);
    } catch {
      throw new ChurnError("INVALID_REQUEST", "Form field 'manifest' is not valid JSON");
    }
    const manifest = manifestSchema.safeParse(manifestJson);
    if (!manifest.success) {
      const issues = issuesFromZod(manifest.error, "manifest");
      throw new ChurnError(
        "INVALID_REQUEST",
        `Manifest is invalid: ${issues[0]?.path}: ${issues[0]?.message}`,
        {
          issues,
        },
      );
    }
    const deps = c.get("deps");
    const result = await publishModelVersion(deps.db, deps.validator, auditContextOf(c), {
      tenantId: c.get("principal").tenantId,
      name,
      manifest: manifest.data,
      bytes: new Uint8Array(await model.arrayBuffer()),
      explainer:
        explainer === undefined
          ? undefined
          : typeof explainer === "string"
            ? new TextEncoder().encode(explainer)
            : new Uint8Array(await explainer.arrayBuffer()),
      runs,
    });
    return c.json(publishResponseSchema.parse(result), result.created ? 201 : 200);
  });
}
