import { errorEnvelopeSchema } from "./errors.ts";

const DESCRIPTIONS = {
  400: "Invalid request; `issues` names each offending field",
  401: "Missing, invalid or expired credentials",
  403: "Authenticated but not allowed (role or scope)",
  404: "Not found, including another tenant's resources",
  409: "Conflict with the current state",
  413: "Body too large",
  415: "Unsupported content type",
  422: "The model or manifest is invalid",
  429: "Too many requests; `code` says whether a rate limit (`RATE_LIMITED`) or a monthly prediction quota (`QUOTA_EXCEEDED`) refused it",
  503: "A dependency or the tenant's model is unavailable",
} as const;

type ErrorStatus = keyof typeof DESCRIPTIONS;
type ErrorResponse = {
  description: string;
  content: { "application/json": { schema: typeof errorEnvelopeSchema } };
};

/** Declares the error responses a route can give, all with the shared envelope. */
export function errorResponses(...statuses: ErrorStatus[]): Record<number, ErrorResponse> {
  return Object.fromEntries(
    statuses.map((s) => [
      s,
      { description: DESCRIPTIONS[s], content: { "application/json": { schema: errorEnvelopeSchema } } },
    ]),
  );
}

export const bearerSecurity = [{ bearerAuth: [] }];
