import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { z } from "zod";
import { ChurnError } from "#shared/errors.ts";
import { postJson } from "../../remote/control-plane-client.ts";
import { type Command, UsageError } from "../flags.ts";

const rotatedSchema = z.object({ kid: z.string() });

/** Operator credentials: flags, then CHURN_CONTROL_PLANE_URL / CHURN_OPERATOR_TOKEN, then the local platform. */
function operatorTarget(flags: { url?: string; token?: string }): { url: string; token: string } {
  const localPath = resolve(process.cwd(), ".data/local.json");
  const local = existsSync(localPath)
    ? (JSON.parse(readFileSync(localPath, "utf8")) as Record<string, string>)
    : {};
  const url = flags.url ?? process.env["CHURN_CONTROL_PLANE_URL"] ?? local["controlPlaneUrl"];
  const token = flags.token ?? process.env["CHURN_OPERATOR_TOKEN"] ?? local["operatorToken"];
  if (!url)
    throw new ChurnError(
      "INVALID_REQUEST",
      "No control plane given: pass --url or set CHURN_CONTROL_PLANE_URL",
    );
  if (!token) {
    throw new ChurnError(
      "UNAUTHORIZED",
      "No operator token: pass --operator-token or set CHURN_OPERATOR_TOKEN",
    );
  }
  return { url, token };
}

export const keysCommand: Command = {
  summary: "Rotate the token signing key (operator; audited)",
  usage: `churn keys rotate [--url <control-plane>] [--operator-token <token>] [--json]

  Publishes a new signing key to the JWKS and the edge, then signs with it. Tokens signed by the old key keep
  verifying until they expire. Needs the control plane's OPERATOR_TOKEN (CHURN_OPERATOR_TOKEN).`,
  options: { url: { type: "string" }, "operator-token": { type: "string" }, json: { type: "boolean" } },
  positionals: 1,
  async run(values, io, positionals) {
    if (positionals?.[0] !== "rotate") throw new UsageError(`unknown keys action "${positionals?.[0]}"`);
    const target = operatorTarget({
      ...(typeof values.url === "string" ? { url: values.url } : {}),
      ...(typeof values["operator-token"] === "string" ? { token: values["operator-token"] } : {}),
    });
    const { kid } = rotatedSchema.parse(await postJson(target, "/v1/admin/keys/rotate", {}));
    io.out(values.json ? `${JSON.stringify({ kid })}\n` : `signing key rotated: new kid ${kid}\n`);
    return 0;
  },
};
