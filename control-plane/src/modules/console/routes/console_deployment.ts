import type { Context, Hono } from "hono";
import { z } from "zod";
import { ChurnError } from "#shared/errors.ts";
import { type DeploymentRequest, deploymentRequestSchema } from "#shared/registry.ts";
import { rollbackDeployment, updateDeployment } from "../../deployments/deployments.ts";
import { deploymentOrNull } from "../data.ts";
import type { ConsoleEnv } from "../env.ts";
import { auditOf, changing, field, formOf, parseForm, reasonSchema } from "../http.ts";

const versionForm = z.object({
  versionId: z.string().min(1).max(64),
  /** The revision the page showed: a change made meanwhile answers 409 instead of being overwritten. */
  revision: z.coerce.number().int().min(0),
  reason: reasonSchema,
});
const canaryForm = versionForm.extend({ weight: z.coerce.number().int().min(1).max(100) });
const rollbackForm = z.object({ revision: z.coerce.number().int().min(1), reason: reasonSchema });

/** Reads the fields `schema` declares from the posted form and parses them (400 naming each field). */
async function readForm<T extends z.ZodObject>(c: Context<ConsoleEnv>, schema: T): Promise<z.infer<T>> {
  const form = await formOf(c);
  return parseForm(schema, Object.fromEntries(Object.keys(schema.shape).map((k) => [k, field(form, k)])));
}

/** Applies a change through the same service and audit trail as PUT /v1/deployment. */
async function apply(
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

const ids = (refs: { versionId: string }[]) => refs.map((r) => r.versionId);

/** The current canary as a deployment request names it. */
const canaryOf = (d: { canary?: { versionId: string; weight: number } | null | undefined }) =>
  d.canary ? { versionId: d.canary.versionId, weight: d.canary.weight } : null;

const requireDeployed = <T>(d: T | null): T => {
  if (!d) throw new ChurnError("CONFLICT", "Nothing is deployed yet: deploy a version first");
  return d;
};

/** Promote, canary, shadows and rollback from the Models page. */
export function registerConsoleDeployment(app: Hono<ConsoleEnv>): void {
  app.post("/deployment/promote", ...changing("deployments:write"), async (c) => {
    const f = await readForm(c, versionForm);
    return apply(
      c,
      (d) => ({
        production: f.versionId,
        canary: d?.canary && d.canary.versionId !== f.versionId ? canaryOf(d) : null,
        shadows: ids(d?.shadows ?? []).filter((id) => id !== f.versionId),
        reason: f.reason,
      }),
      f.revision,
      "promoted",
    );
  });

  app.post("/deployment/canary", ...changing("deployments:write"), async (c) => {
    const f = await readForm(c, canaryForm);
    return apply(
      c,
      (current) => {
        const d = requireDeployed(current);
        if (d.production.versionId === f.versionId)
          throw new ChurnError("INVALID_REQUEST", "The production version cannot also be its own canary");
        return {
          production: d.production.versionId,
          canary: { versionId: f.versionId, weight: f.weight },
          shadows: ids(d.shadows).filter((id) => id !== f.versionId),
          reason: f.reason,
        };
      },
      f.revision,
      "canary",
    );
  });

  app.post("/deployment/canary/end", ...changing("deployments:write"), async (c) => {
    const f = await readForm(c, versionForm);
    return apply(
      c,
      (current) => {
        const d = requireDeployed(current);
        return {
          production: d.production.versionId,
          canary: null,
          shadows: ids(d.shadows),
          reason: f.reason,
        };
      },
      f.revision,
      "canary-ended",
    );
  });

  app.post("/deployment/shadow/add", ...changing("deployments:write"), async (c) => {
    const f = await readForm(c, versionForm);
    return apply(
      c,
      (current) => {
        const d = requireDeployed(current);
        if (d.production.versionId === f.versionId || d.canary?.versionId === f.versionId)
          throw new ChurnError(
            "INVALID_REQUEST",
            "A version already serving traffic cannot also be a shadow",
          );
        return {
          production: d.production.versionId,
          canary: canaryOf(d),
          shadows: [...new Set([...ids(d.shadows), f.versionId])],
          reason: f.reason,
        };
      },
      f.revision,
      "shadow-added",
    );
  });

  app.post("/deployment/shadow/remove", ...changing("deployments:write"), async (c) => {
    const f = await readForm(c, versionForm);
    return apply(
      c,
      (current) => {
        const d = requireDeployed(current);
        return {
          production: d.production.versionId,
          canary: canaryOf(d),
          shadows: ids(d.shadows).filter((id) => id !== f.versionId),
          reason: f.reason,
        };
      },
      f.revision,
      "shadow-removed",
    );
  });

  app.post("/deployment/rollback", ...changing("deployments:write"), async (c) => {
    const f = await readForm(c, rollbackForm);
    const deps = c.get("deps");
    await rollbackDeployment(
      deps.db,
      deps.edge,
      auditOf(c),
      c.get("principal").tenantId,
      f.reason,
      f.revision,
    );
    return c.redirect("/console/models?done=rolled-back", 303);
  });
}
