import { z } from "zod";
import { ChurnError } from "#shared/errors.ts";
import { getJson, resolveTarget } from "../../remote/control-plane-client.ts";
import { type Command, UsageError } from "../flags.ts";

const verificationSchema = z.object({
  ok: z.boolean(),
  entries: z.number(),
  firstBad: z.object({ seq: z.number(), id: z.string(), reason: z.string() }).optional(),
  headHash: z.string(),
});

export const auditCommand: Command = {
  summary: "Verify the tenant's tamper-evident audit chain (exit 1 naming the first bad entry)",
  usage: `churn audit verify [--url <control-plane>] [--token <token>] [--json]

  Recomputes every entry's hash in order on the control plane. A changed, deleted or reordered entry makes
  the command exit 1 and name the first entry that fails.`,
  options: { url: { type: "string" }, token: { type: "string" }, json: { type: "boolean" } },
  positionals: 1,
  async run(values, io, positionals) {
    if (positionals?.[0] !== "verify") throw new UsageError(`unknown audit action "${positionals?.[0]}"`);
    const target = await resolveTarget({
      ...(typeof values.url === "string" ? { url: values.url } : {}),
      ...(typeof values.token === "string" ? { token: values.token } : {}),
    });
    const result = verificationSchema.parse(await getJson(target, "/v1/audit/verify"));
    if (values.json) io.out(`${JSON.stringify(result)}\n`);
    if (!result.ok) {
      const bad = result.firstBad!;
      throw new ChurnError("CONFLICT", `audit chain broken at entry #${bad.seq} (${bad.id}): ${bad.reason}`);
    }
    if (!values.json)
      io.out(`audit chain verified: ${result.entries} entries, head ${result.headHash.slice(0, 16)}…\n`);
    return 0;
  },
};
