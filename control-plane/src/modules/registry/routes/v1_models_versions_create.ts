import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import { bodyLimit } from "hono/body-limit";
import { requireContentType } from "#shared/content-type.ts";
import { ChurnError, issuesFromZod, validationError } from "#shared/errors.ts";
import {
  type ExperimentRunInput,
  experimentRunsInputSchema,
  MAX_EXPERIMENT_RUNS,
} from "#shared/experiments.ts";
import { manifestSchema } from "#shared/manifest.ts";
import { bearerSecurity, errorResponses } from "#shared/openapi.ts";
import { MAX_REPORT_BYTES, publishResponseSchema } from "#shared/registry.ts";
import type { HonoEnv } from "../../../platform/env.ts";
import { authenticate, requirePermission } from "../../../platform/middleware/auth.ts";
import { idempotencyHeaders, idempotent } from "../../../platform/middleware/idempotency.ts";
import { auditContextOf } from "../../audit/request-audit.ts";
import { publishModelVersion } from "../registry.ts";

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
  report: z
    .any()
    .optional()
    .openapi({
      type: "string",
      format: "binary",
      description: `report.html as written by \`churn train\`: a UTF-8 HTML document (text/html), at most ${MAX_REPORT_BYTES} bytes. Stored only when this upload creates the version.`,
    }),
});

/** The runs field is JSON text; a few hundred runs with parameters fit well within this. */
const MAX_RUNS_FIELD_BYTES = 4 * 1024 * 1024;

/** The whole multipart upload: the model, its runs and report, and room for the form's other fields. */
export const publishMaxBytes = (maxModelBytes: number) =>
  maxModelBytes + MAX_RUNS_FIELD_BYTES + MAX_REPORT_BYTES + 1024 * 1024;

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

const reportIssue = (message: string) =>
  new ChurnError("INVALID_REQUEST", `Form field 'report' ${message}`, {
    issues: [{ path: "report", message }],
  });

/** A declared type must be HTML (or the generic binary type clients send for a file without one). */
function isHtmlType(type: string): boolean {
  const [essence = "", ...params] = type
    .toLowerCase()
    .split(";")
    .map((s) => s.trim());
  if (essence !== "" && essence !== "text/html" && essence !== "application/octet-stream") return false;
  const charset = params
    .find((p) => p.startsWith("charset="))
    ?.slice("charset=".length)
    .replace(/"/g, "");
  return charset === undefined || charset === "utf-8" || charset === "utf8";
}

/**
 * The optional report.html: a single UTF-8 HTML document within the size limit. It is served back under a
 * CSP that allows no script, so its content is not sanitized here, only checked to be what it claims.
 */
async function parseReport(field: unknown): Promise<Uint8Array | undefined> {
  if (field === undefined) return undefined;
  let bytes: Uint8Array;
  if (typeof field === "string") {
    bytes = new TextEncoder().encode(field);
  } else if (field instanceof File) {
    if (!isHtmlType(field.type))
      throw reportIssue(`must be text/html in UTF-8, not ${field.type || "an unknown type"}`);
    if (field.size > MAX_REPORT_BYTES)
      throw new ChurnError("PAYLOAD_TOO_LARGE", `Form field 'report' exceeds ${MAX_REPORT_BYTES} bytes`, {
        issues: [{ path: "report", message: `larger than ${MAX_REPORT_BYTES} bytes` }],
      });
    bytes = new Uint8Array(await field.arrayBuffer());
  } else {
    throw reportIssue("must be a single file");
  }
  if (bytes.byteLength > MAX_REPORT_BYTES)
    throw new ChurnError("PAYLOAD_TOO_LARGE", `Form field 'report' exceeds ${MAX_REPORT_BYTES} bytes`, {
      issues: [{ path: "report", message: `larger than ${MAX_REPORT_BYTES} bytes` }],
    });
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    throw reportIssue("is not valid UTF-8");
  }
  if (!/^\s*(<!doctype html[\s>]|<html[\s>])/i.test(text.slice(0, 1024)))
    throw reportIssue("is not an HTML document: expected it to start with <!doctype html> or <html>");
  return bytes;
}

export function createPublishRoute(maxBytes: number) {
  return createRoute({
    method: "post",
    path: "/v1/models/{name}/versions",
    summary: "Publish a model version (idempotent on the ONNX bytes)",
    description:
      "The same bytes under the same model answer 200 with the existing version. `Idempotency-Key` also " +
      "replays the first response (status and body) to a retried upload. A version is immutable: a `report` " +
      "sent with bytes already published is not attached to the existing version (see its `hasReport`).",
    security: bearerSecurity,
    middleware: [
      authenticate(),
      requirePermission("models:publish"),
      requireContentType("multipart/form-data"),
      bodyLimit({
        maxSize: publishMaxBytes(maxBytes),
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
      ...errorResponses(400, 401, 403, 413, 415, 422, 503),
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
    const report = await parseReport(form["report"]);
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
      report,
    });
    return c.json(publishResponseSchema.parse(result), result.created ? 201 : 200);
  });
}
