import { z } from "zod";

/**
 * Stable error codes shared by every service and the CLI. Callers switch on `code`, never on messages.
 * OAuth token-endpoint errors keep their RFC 6749 §5.2 names so OAuth clients recognise them.
 */
export const ERROR_STATUS = {
  INVALID_REQUEST: 400,
  invalid_request: 400,
  unsupported_grant_type: 400,
  invalid_scope: 400,
  UNAUTHORIZED: 401,
  invalid_client: 401,
  FORBIDDEN: 403,
  INSUFFICIENT_SCOPE: 403,
  NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  CONFLICT: 409,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  INVALID_MODEL: 422,
  RATE_LIMITED: 429,
  /** A monthly prediction quota (the tenant's or the client's) is used up until the next UTC month. */
  QUOTA_EXCEEDED: 429,
  INTERNAL: 500,
  MODEL_UNAVAILABLE: 503,
  UNAVAILABLE: 503,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;
export type ErrorStatus = (typeof ERROR_STATUS)[ErrorCode];

export const errorCodeSchema = z.enum(Object.keys(ERROR_STATUS) as [ErrorCode, ...ErrorCode[]]);

export const fieldIssueSchema = z.object({
  path: z.string().describe("Dotted path of the offending field, e.g. records.0.tenure"),
  message: z.string(),
});
export type FieldIssue = z.infer<typeof fieldIssueSchema>;

export const errorEnvelopeSchema = z
  .object({
    error: z.object({
      code: errorCodeSchema,
      message: z.string(),
      requestId: z.string(),
      issues: z.array(fieldIssueSchema).optional(),
      docs: z.string().optional(),
    }),
  })
  .meta({ id: "Error" });
export type ErrorEnvelope = z.infer<typeof errorEnvelopeSchema>;

/** The one error type thrown anywhere in the platform; rendered to the envelope in one place per service. */
export class ChurnError extends Error {
  readonly code: ErrorCode;
  readonly status: ErrorStatus;
  readonly issues: FieldIssue[] | undefined;
  readonly headers: Record<string, string> | undefined;

  constructor(
    code: ErrorCode,
    message: string,
    options: { issues?: FieldIssue[]; cause?: unknown; headers?: Record<string, string> } = {},
  ) {
    super(message, { cause: options.cause });
    this.name = "ChurnError";
    this.code = code;
    this.status = ERROR_STATUS[code];
    this.issues = options.issues;
    this.headers = options.headers;
  }

  toEnvelope(requestId: string): ErrorEnvelope {
    return {
      error: {
        code: this.code,
        message: this.message,
        requestId,
        ...(this.issues && this.issues.length > 0 ? { issues: this.issues } : {}),
      },
    };
  }
}

/** Turns zod issues into per-field messages that name the path, e.g. `records.3.tenure: expected number`. */
export function issuesFromZod(error: z.ZodError, prefix = ""): FieldIssue[] {
  return error.issues.map((issue) => {
    const path = [prefix, ...issue.path.map(String)].filter((p) => p !== "").join(".");
    return { path: path || "(body)", message: issue.message };
  });
}

export function validationError(issues: FieldIssue[], what = "Request body is invalid"): ChurnError {
  const shown = issues
    .slice(0, 5)
    .map((i) => `${i.path}: ${i.message}`)
    .join("; ");
  const more = issues.length > 5 ? ` (and ${issues.length - 5} more)` : "";
  return new ChurnError("INVALID_REQUEST", `${what}: ${shown}${more}`, { issues });
}
