import type { Context } from "hono";
import { z } from "zod";
import { ChurnError } from "#shared/errors.ts";
import { type DeploymentRequest, deploymentRequestSchema } from "#shared/registry.ts";
import { updateDeployment } from "../deployments/deployments.ts";
import { deploymentOrNull } from "./data.ts";
import type { ConsoleEnv } from "./env.ts";
import { auditOf, field, formOf, parseForm, reasonSchema } from "./http.ts";

/** The forms of the Models page's deployment actions, and the step they share: one audited revision. */

export const versionForm = z.object({
  versionId: z.string().min(1).max(64),
  /** The revision the page showed: a change made meanwhile answers 409 instead of being overwritten. */
  revision: z.coerce.number().int().min(0),
  reason: reasonSchema,
});
export const canaryForm = versionForm.extend({ weight: z.coerce.number().int().min(1).max(100) });
export const rollbackForm = z.object({ revision: z.coerce.number().int().min(1), reason: reasonSchema });

/** Reads the fields `schema` declares from the posted form and parses them (400 naming each field). */
export async function readForm<T extends z.ZodObject>(
  c: Context<ConsoleEnv>,
  schema: T,
): Promise<z.infer<T>> {
  const form = await formOf(c);
  return parseForm(schema, Object.fromEntries(Object.keys(schema.shape).map((k) => [k, field(form, k)])));
}

/** Applies a change through the same service and audit trail as PUT /v1/deployment. */
export async function apply(
  c: Context<ConsoleEnv>,
  build: (current: NonNullable<Awaited<ReturnType<typeof deploymentOrNull>>> | null) => DeploymentRequest,
  revision: number,
  done: string,
): Promise<Response> {
  const deps = c.get("deps");
  const tenantId = c.get("principal").tenantId;
  const current = await deploymentOrNull(deps.db, tenantId);
  const request = deploymentRequestSchema.parse(build(current));
  await updateDeployment(deps.db, deps.edge, auditOf(c), tenantId, request, revision);
  return c.redirect(`/console/models?done=${done}`, 303);
}

export const ids = (refs: { versionId: string }[]) => refs.map((r) => r.versionId);

/** The current canary as a deployment request names it. */
export const canaryOf = (d: { canary?: { versionId: string; weight: number } | null | undefined }) =>
  d.canary ? { versionId: d.canary.versionId, weight: d.canary.weight } : null;

export const requireDeployed = <T>(d: T | null): T => {
  if (!d) throw new ChurnError("CONFLICT", "Nothing is deployed yet: deploy a version first");
  return d;
};
