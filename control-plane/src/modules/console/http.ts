import type { Context, MiddlewareHandler } from "hono";
import { z } from "zod";
import { limitBody } from "#shared/content-type.ts";
import { issuesFromZod, validationError } from "#shared/errors.ts";
import type { HonoEnv } from "../../platform/env.ts";
import { requirePermission } from "../../platform/middleware/auth.ts";
import type { AuditContext } from "../audit/audit.ts";
import { auditContextOf } from "../audit/request-audit.ts";
import type { Permission } from "../identity/permissions.ts";
import type { ConsoleEnv } from "./env.ts";
import { consoleSession, requireCsrf } from "./session.ts";

/** Console forms are small: names, reasons, a few numbers. */
const FORM_MAX_BYTES = 16 * 1024;

/** The API's own permission check: the console never decides who may do what by itself. */
export const allow = (permission: Permission) =>
  requirePermission(permission) as unknown as MiddlewareHandler<ConsoleEnv>;

/** A page: a live session and the page's permission. */
export const viewing = (permission: Permission) => [consoleSession(), allow(permission)] as const;

/** A change: session, size limit, CSRF token, then the permission, exactly as the API route requires. */
export const changing = (permission: Permission) =>
  [
    consoleSession(),
    limitBody(FORM_MAX_BYTES) as MiddlewareHandler<ConsoleEnv>,
    requireCsrf(),
    allow(permission),
  ] as const;

export const auditOf = (c: Context<ConsoleEnv>): AuditContext =>
  auditContextOf(c as unknown as Context<HonoEnv>);

/** The submitted form (urlencoded or multipart), every field as a list so checkboxes keep all values. */
export async function formOf(c: Context): Promise<Record<string, string[]>> {
  const body = await c.req.parseBody({ all: true });
  const out: Record<string, string[]> = {};
  for (const [k, v] of Object.entries(body)) {
    const values = Array.isArray(v) ? v : [v];
    out[k] = values.filter((x): x is string => typeof x === "string");
  }
  return out;
}

/** One value of a form field, or undefined when absent or empty. */
export const field = (form: Record<string, string[]>, name: string): string | undefined => {
  const v = form[name]?.[0]?.trim();
  return v === undefined || v === "" ? undefined : v;
};

/** Parses with the same 400 INVALID_REQUEST (naming each field) the JSON API gives. */
export function parseForm<T extends z.ZodType>(schema: T, value: unknown): z.infer<T> {
  const result = schema.safeParse(value);
  if (!result.success) throw validationError(issuesFromZod(result.error, ""));
  return result.data;
}

export const reasonSchema = z.string().trim().min(3, "give a reason of at least 3 characters").max(500);

/** Done-messages after an action; fixed texts chosen by key, never echoed from the URL. */
const DONE: Record<string, string> = {
  promoted: "Promoted: the version now serves production.",
  canary: "Canary updated.",
  "canary-ended": "Canary ended: all traffic goes to production.",
  "shadow-added": "Shadow added.",
  "shadow-removed": "Shadow removed.",
  "rolled-back": "Rolled back to the previous production version.",
  updated: "Client updated.",
  revoked: "Client revoked: its secret and tokens are refused.",
  "token-revoked": "Token revoked: it is refused from now on.",
  quota: "Monthly quota saved: the edge applies it within a minute.",
};

export const doneFlash = (key: string | undefined) =>
  key && DONE[key] ? { kind: "ok" as const, text: DONE[key] } : undefined;
