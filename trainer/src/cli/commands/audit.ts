import { readFile } from "node:fs/promises";
import { z } from "zod";
import {
  type AuditCheckpoint,
  type AuditVerification,
  auditCheckpointFileSchema,
  auditCheckpointSchema,
  auditEntrySchema,
  auditVerificationSchema,
} from "#shared/audit.ts";
import { ChurnError } from "#shared/errors.ts";
import { type ControlPlaneTarget, getJson, resolveTarget } from "../../remote/control-plane-client.ts";
import { type Command, UsageError } from "../flags.ts";

const pageSchema = z.object({ entries: z.array(auditEntrySchema) });

export const auditCommand: Command = {
  summary: "Verify the tenant's tamper-evident audit chain (exit 1 naming the first bad entry)",
  usage: `churn audit verify [--url <control-plane>] [--token <token>] [--checkpoint <file>] [--json]

  The control plane recomputes every entry's keyed hash (HMAC with its audit key) in order and holds the
  chain to its latest signed checkpoint in edge KV. An edited, rewritten, deleted or reordered entry, or a
  chain that falls short of its checkpoint (its tail deleted), makes the command exit 1 and say where.

  --checkpoint <file>  also hold the chain to a checkpoint kept elsewhere: the .audit-checkpoints.json file
                       \`npm run db -- backup\` writes beside a backup (this tenant's entry is used), or one
                       checkpoint as JSON. The chain must still reach its entry with the same hash.`,
  options: {
    url: { type: "string" },
    token: { type: "string" },
    checkpoint: { type: "string" },
    json: { type: "boolean" },
  },
  positionals: 1,
  async run(values, io, positionals) {
    if (positionals?.[0] !== "verify") throw new UsageError(`unknown audit action "${positionals?.[0]}"`);
    const target = await resolveTarget({
      ...(typeof values.url === "string" ? { url: values.url } : {}),
      ...(typeof values.token === "string" ? { token: values.token } : {}),
    });
    const result = auditVerificationSchema.parse(await getJson(target, "/v1/audit/verify"));
    const external =
      typeof values.checkpoint === "string"
        ? await compareWithFile(target, result, values.checkpoint)
        : undefined;
    if (values.json) io.out(`${JSON.stringify({ ...result, ...(external ? { file: external } : {}) })}\n`);
    if (!result.ok) {
      const bad = result.firstBad;
      throw new ChurnError(
        "CONFLICT",
        bad
          ? `audit chain broken at entry #${bad.seq} (${bad.id}): ${bad.reason}`
          : `audit chain does not reach its checkpoint: ${result.checkpointProblem}`,
      );
    }
    if (external?.problem)
      throw new ChurnError(
        "CONFLICT",
        `audit chain does not match ${values.checkpoint}: ${external.problem}`,
      );
    if (!values.json) {
      const against = [
        result.checkpoint ? `checkpoint #${result.checkpoint.seq} of ${result.checkpoint.time} (KV)` : null,
        external ? `checkpoint #${external.checkpoint.seq} of ${external.checkpoint.time} (file)` : null,
      ].filter((s) => s !== null);
      io.out(
        `audit chain verified: ${result.entries} entries, head ${result.headHash.slice(0, 16)}…` +
          (against.length > 0 ? `; matches ${against.join(" and ")}` : "; no checkpoint yet") +
          "\n",
      );
    }
    return 0;
  },
};

/**
 * Holds the chain to a checkpoint from a file. Without the audit key the CLI cannot check the checkpoint's
 * signature (`npm run db -- verify` can); it checks that the chain still has the entry the checkpoint
 * names, with the same hash, unless the chain records a restore since.
 */
async function compareWithFile(
  target: ControlPlaneTarget,
  result: AuditVerification,
  path: string,
): Promise<{ checkpoint: AuditCheckpoint; problem?: string }> {
  let json: unknown;
  try {
    json = JSON.parse(await readFile(path, "utf8"));
  } catch (err) {
    throw new UsageError(`--checkpoint ${path}: ${(err as Error).message}`);
  }
  const file = auditCheckpointFileSchema.safeParse(json);
  const candidates = file.success ? file.data.checkpoints : [auditCheckpointSchema.parse(json)];
  const checkpoint = candidates.find((c) => c.tenantId === result.tenantId);
  if (!checkpoint) throw new UsageError(`${path} holds no checkpoint of tenant ${result.tenantId}`);
  const restored = pageSchema
    .parse(
      await getJson(
        target,
        `/v1/audit?action=audit.restore&since=${encodeURIComponent(checkpoint.time)}&limit=1`,
      ),
    )
    .entries.some((e) => Date.parse(e.createdAt) > Date.parse(checkpoint.time));
  if (restored) return { checkpoint };
  if (result.entries < checkpoint.seq)
    return {
      checkpoint,
      problem: `the chain ends at entry #${result.entries}, but the checkpoint records #${checkpoint.seq}: entries were deleted`,
    };
  const [entry] = pageSchema.parse(
    await getJson(target, `/v1/audit?cursor=${checkpoint.seq + 1}&limit=1`),
  ).entries;
  if (entry?.seq !== checkpoint.seq || entry.hash !== checkpoint.headHash)
    return {
      checkpoint,
      problem: `entry #${checkpoint.seq} differs from the checkpoint: the chain was rewritten`,
    };
  return { checkpoint };
}
