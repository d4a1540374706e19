import { deployProduction, publishModelDir, resolveTarget } from "../../remote/control-plane-client.ts";
import type { Command } from "../flags.ts";

export const publishCommand: Command = {
  summary: "Publish a trained model directory to the control plane (and optionally deploy it)",
  usage: `churn publish <dir> [--deploy] [--reason <text>] [--url <control-plane>] [--token <token>]

  <dir>             output of \`churn train\` (model.onnx + manifest.json; explainer.json, runs.json and
                    report.html are sent too when present)
  --deploy          make the published version the tenant's production model
  --reason <text>   reason recorded in the audit log for the deployment
  --url <url>       control plane (default: CHURN_CONTROL_PLANE_URL, or the local platform)
  --token <token>   personal access token or access token (default: CHURN_TOKEN, CHURN_CLIENT_ID/SECRET,
                    or the local platform's owner token)
  --json            print the result as JSON`,
  options: {
    deploy: { type: "boolean" },
    reason: { type: "string" },
    url: { type: "string" },
    token: { type: "string" },
    json: { type: "boolean" },
  },
  positionals: 1,
  async run(values, io, positionals) {
    const dir = positionals?.[0];
    const target = await resolveTarget({
      ...(typeof values.url === "string" ? { url: values.url } : {}),
      ...(typeof values.token === "string" ? { token: values.token } : {}),
    });
    const published = await publishModelDir(target, dir!);
    const deployment = values.deploy
      ? await deployProduction(
          target,
          published.version.id,
          typeof values.reason === "string" ? values.reason : "churn publish --deploy",
        )
      : null;
    if (values.json) {
      io.out(`${JSON.stringify({ ...published, deployment })}\n`);
    } else {
      const v = published.version;
      io.out(`${published.created ? "published" : "already published"} ${v.name} v${v.version} (${v.id})\n`);
      io.out(
        v.hasReport
          ? `report: /v1/models/${v.name}/versions/${v.version}/report\n`
          : "report: none stored with this version\n",
      );
      if (deployment)
        io.out(`deployed: revision ${deployment.revision}, production ${deployment.production.versionId}\n`);
    }
    return 0;
  },
};
