import { z } from "@hono/zod-openapi";
import type { Context, MiddlewareHandler } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { ChurnError } from "#shared/errors.ts";
import { sha256Hex } from "#shared/hash.ts";
import type { HonoEnv } from "../env.ts";
import {
  claimIdempotencyKey,
  completeIdempotencyKey,
  type IdempotencyScope,
  releaseIdempotencyKey,
} from "../idempotency.ts";

export const IDEMPOTENCY_HEADER = "idempotency-key";
/** Set on a response answered from the first request's stored response. */
export const REPLAYED_HEADER = "idempotent-replayed";

const KEY_PATTERN = /^[\x21-\x7e]{1,255}$/;

/** The header as routes document it in OpenAPI. */
export const idempotencyHeaders = z.object({
  [IDEMPOTENCY_HEADER]: z
    .string()
    .optional()
    .openapi({
      param: { name: IDEMPOTENCY_HEADER, in: "header" },
      description:
        "Retry-safe creation: the same key from the same caller within 24 h does not repeat the action",
      example: "5f1c0b0e-1d2a-4b7a-9c55-8d7a3f1e2b64",
    }),
});

export interface IdempotencyOptions {
  /**
   * For creations whose response carries a one-time secret. Such a response is never stored: a replay
   * answers 409 naming the created resource, and `hint` tells the caller how to get a new secret.
   */
  oneTimeSecret?: {
    resourceId(body: unknown): string;
    hint: string;
  };
}

/**
 * `Idempotency-Key` for POSTs that create things. The first 2xx response to a key is remembered for 24 h
 * per caller: a retry with the same method, path and body gets it back (status and body, with
 * `Idempotent-Replayed: true`) without repeating the action; the same key with a different request is 409.
 * Errors are not remembered, so a failed request can be retried with its key.
 */
export function idempotent(options: IdempotencyOptions = {}): MiddlewareHandler<HonoEnv> {
  return async (c, next) => {
    const key = c.req.header(IDEMPOTENCY_HEADER);
    if (key === undefined) return next();
    if (!KEY_PATTERN.test(key)) {
      throw new ChurnError("INVALID_REQUEST", "Idempotency-Key must be 1 to 255 visible ASCII characters", {
        issues: [{ path: `header.${IDEMPOTENCY_HEADER}`, message: "1 to 255 visible ASCII characters" }],
      });
    }
    const principal = c.get("principal");
    const scope: IdempotencyScope = {
      tenantId: principal.tenantId,
      principal: `${principal.kind}:${principal.id}`,
      key,
    };
    const db = c.get("deps").db;
    const claim = await claimIdempotencyKey(db, scope, await requestFingerprint(c));
    if (claim.kind === "conflict") {
      throw new ChurnError(
        "CONFLICT",
        claim.reason === "in-progress"
          ? "A request with this Idempotency-Key is still being processed; retry shortly"
          : "This Idempotency-Key was already used for a different request; use a new key",
      );
    }
    if (claim.kind === "replay") {
      const { row } = claim;
      if (row.body !== null) {
        c.header(REPLAYED_HEADER, "true");
        return c.body(row.body, row.status as ContentfulStatusCode, { "content-type": "application/json" });
      }
      const resourceId = row.resourceId ?? "";
      throw new ChurnError(
        "CONFLICT",
        `Already processed: this Idempotency-Key created ${resourceId}. Its one-time secret is not stored, so it cannot be shown again; ${options.oneTimeSecret?.hint ?? ""}`.trim(),
        { headers: { [REPLAYED_HEADER]: "true" } },
      );
    }

    try {
      await next();
    } catch (err) {
      await releaseIdempotencyKey(db, scope);
      throw err;
    }
    const status = c.res.status;
    if (status < 200 || status >= 300) {
      await releaseIdempotencyKey(db, scope);
      return;
    }
    const text = await c.res.clone().text();
    if (options.oneTimeSecret) {
      const resourceId = options.oneTimeSecret.resourceId(JSON.parse(text));
      await completeIdempotencyKey(db, scope, { status, body: null, resourceId });
    } else {
      await completeIdempotencyKey(db, scope, { status, body: text, resourceId: null });
    }
  };
}

/**
 * sha256 over the method, the path and the body. Multipart bodies are hashed field by field (name and
 * content, in name order) because their boundary is random: a retried upload would otherwise never match.
 */
async function requestFingerprint(c: Context<HonoEnv>): Promise<string> {
  const head = `${c.req.method} ${c.req.path}\n`;
  const type = c.req.header("content-type")?.split(";")[0]?.trim().toLowerCase();
  if (type !== "multipart/form-data") return sha256Hex(head + (await c.req.text()));
  const form = await c.req.formData();
  const parts: string[] = [];
  for (const [name, value] of form.entries()) {
    const content =
      typeof value === "string"
        ? await sha256Hex(value)
        : `file:${await sha256Hex(await value.arrayBuffer())}`;
    parts.push(`${JSON.stringify(name)}=${content}`);
  }
  parts.sort();
  return sha256Hex(head + parts.join("\n"));
}
