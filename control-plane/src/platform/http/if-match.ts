import { ChurnError } from "#shared/errors.ts";

/** The deployment revision in an `If-Match` header ("3", W/"3" or 3), or null when the header is absent. */
export function parseIfMatch(header: string | undefined): number | null {
  if (!header) return null;
  const match = /^(?:W\/)?"?(\d+)"?$/.exec(header.trim());
  if (!match) throw new ChurnError("INVALID_REQUEST", 'If-Match must be a deployment revision, e.g. "3"');
  return Number(match[1]);
}
