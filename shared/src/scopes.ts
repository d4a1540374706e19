import { z } from "zod";

/** OAuth2 scopes an API client can hold. `deployments:write` lets CI pipelines roll models out. */
export const SCOPES = [
  "predict",
  "feedback:write",
  "models:publish",
  "models:read",
  "deployments:write",
  "retraining:run",
] as const;
export const scopeSchema = z.enum(SCOPES);
export type Scope = z.infer<typeof scopeSchema>;

export function parseScopeString(value: string): string[] {
  return value.split(" ").filter((s) => s.length > 0);
}
