import { existsSync, readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { ChurnError, type ErrorCode, errorEnvelopeSchema } from "#shared/errors.ts";
import { manifestSchema } from "#shared/manifest.ts";
import { tokenResponseSchema } from "#shared/oauth.ts";
import {
  type Deployment,
  deploymentSchema,
  type ModelVersion,
  publishResponseSchema,
} from "#shared/registry.ts";

export interface ControlPlaneTarget {
  url: string;
  /** A personal access token or an OAuth2 access token. */
  token: string;
}

/**
 * Finds where to publish and with which credentials: flags, then CHURN_CONTROL_PLANE_URL with CHURN_TOKEN
 * or CHURN_CLIENT_ID/CHURN_CLIENT_SECRET, then the local platform's `.data/local.json`.
 */
export async function resolveTarget(
  flags: { url?: string; token?: string },
  cwd = process.cwd(),
): Promise<ControlPlaneTarget> {
  const env = process.env;
  const localPath = resolve(cwd, ".data/local.json");
  const local = existsSync(localPath)
    ? (JSON.parse(readFileSync(localPath, "utf8")) as Record<string, string>)
    : {};
  const url = flags.url ?? env["CHURN_CONTROL_PLANE_URL"] ?? local["controlPlaneUrl"];
  if (!url) {
    throw new ChurnError(
      "INVALID_REQUEST",
      "No control plane given: pass --url, set CHURN_CONTROL_PLANE_URL, or run `npm start` for the local platform",
    );
  }
  const token = flags.token ?? env["CHURN_TOKEN"];
  if (token) return { url, token };
  const clientId = env["CHURN_CLIENT_ID"];
  const clientSecret = env["CHURN_CLIENT_SECRET"];
  if (clientId && clientSecret)
    return { url, token: await clientCredentialsToken(url, clientId, clientSecret) };
  if (local["ownerToken"]) return { url, token: local["ownerToken"] };
  throw new ChurnError(
    "UNAUTHORIZED",
    "No credentials: pass --token, or set CHURN_TOKEN, or CHURN_CLIENT_ID and CHURN_CLIENT_SECRET",
  );
}

export async function clientCredentialsToken(
  url: string,
  clientId: string,
  clientSecret: string,
): Promise<string> {
  const res = await fetch(`${url}/v1/oauth/token`, {
    method: "POST",
    headers: {
      "content-type": "application/x-www-form-urlencoded",
      authorization: `Basic ${Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(clientSecret)}`).toString("base64")}`,
    },
    body: new URLSearchParams({ grant_type: "client_credentials" }),
  });
  return tokenResponseSchema.parse(await parseOrThrow(res)).access_token;
}

/**
 * Uploads `<dir>/model.onnx` with `<dir>/manifest.json`, and the explainer, runs and report.html beside them
 * when present; publishing the same bytes again is a no-op.
 */
export async function publishModelDir(
  target: ControlPlaneTarget,
  dir: string,
): Promise<{ created: boolean; version: ModelVersion }> {
  const manifestPath = join(dir, "manifest.json");
  const modelPath = join(dir, "model.onnx");
  for (const path of [manifestPath, modelPath]) {
    if (!existsSync(path))
      throw new ChurnError("INVALID_REQUEST", `${path} not found: is ${dir} a \`churn train\` output?`);
  }
  const manifestText = await readFile(manifestPath, "utf8");
  const manifest = manifestSchema.parse(JSON.parse(manifestText));
  const form = new FormData();
  form.set("manifest", manifestText);
  form.set(
    "model",
    new Blob([await readFile(modelPath)], { type: "application/octet-stream" }),
    "model.onnx",
  );
  if (manifest.explainer) {
    const explainerPath = join(dir, "explainer.json");
    if (!existsSync(explainerPath)) {
      throw new ChurnError(
        "INVALID_REQUEST",
        `${explainerPath} not found: the manifest declares an explainer`,
      );
    }
    form.set(
      "explainer",
      new Blob([await readFile(explainerPath)], { type: "application/json" }),
      "explainer.json",
    );
  }
  // The AutoML leaderboard becomes the version's experiment runs.
  const runsPath = join(dir, "runs.json");
  if (existsSync(runsPath)) form.set("runs", await readFile(runsPath, "utf8"));
  // The training report is kept with the version, for the console and GET …/versions/{version}/report.
  const reportPath = join(dir, "report.html");
  if (existsSync(reportPath)) {
    form.set(
      "report",
      new Blob([await readFile(reportPath)], { type: "text/html; charset=utf-8" }),
      "report.html",
    );
  }
  const res = await fetch(`${target.url}/v1/models/${encodeURIComponent(manifest.name)}/versions`, {
    method: "POST",
    headers: { authorization: `Bearer ${target.token}` },
    body: form,
  });
  return publishResponseSchema.parse(await parseOrThrow(res));
}

/** Makes `versionId` the tenant's production version (no canary, no shadows). */
export async function deployProduction(
  target: ControlPlaneTarget,
  versionId: string,
  reason: string,
): Promise<Deployment> {
  const res = await fetch(`${target.url}/v1/deployment`, {
    method: "PUT",
    headers: { authorization: `Bearer ${target.token}`, "content-type": "application/json" },
    body: JSON.stringify({ production: versionId, reason }),
  });
  return deploymentSchema.parse(await parseOrThrow(res));
}

export async function getJson(target: ControlPlaneTarget, path: string): Promise<unknown> {
  const res = await fetch(`${target.url}${path}`, { headers: { authorization: `Bearer ${target.token}` } });
  return parseOrThrow(res);
}

export async function postJson(target: ControlPlaneTarget, path: string, body: unknown): Promise<unknown> {
  const res = await fetch(`${target.url}${path}`, {
    method: "POST",
    headers: { authorization: `Bearer ${target.token}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  return parseOrThrow(res);
}

async function parseOrThrow(res: Response): Promise<unknown> {
  const body: unknown = await res.json().catch(() => null);
  if (res.ok) return body;
  const envelope = errorEnvelopeSchema.safeParse(body);
  if (envelope.success) {
    throw new ChurnError(
      envelope.data.error.code as ErrorCode,
      `${envelope.data.error.message} (HTTP ${res.status})`,
    );
  }
  throw new ChurnError("UNAVAILABLE", `Control plane answered HTTP ${res.status}`);
}
