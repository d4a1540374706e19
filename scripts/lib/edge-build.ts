import { execFile } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { EDGE_BUNDLE_DIR } from "./local-edge.ts";
import { writeWarmUpModel } from "./warm-up-model.ts";

const root = resolve(import.meta.dirname, "../..");
// The warm-up graph is generated from the trainer's ONNX writer, so its generator and encoder count too.
const SOURCES = [
  "edge/src",
  "shared/src",
  "wrangler.toml",
  "package-lock.json",
  "scripts/lib/warm-up-model.ts",
  "trainer/src/ml/onnx",
];

function newestMtime(path: string): number {
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  return Math.max(stat.mtimeMs, ...readdirSync(path).map((f) => newestMtime(join(path, f))));
}

/** Builds the worker bundle with wrangler (as a deploy would) and returns wrangler's size report. */
export async function buildEdge(): Promise<{ totalKiB: number; gzipKiB: number }> {
  await writeWarmUpModel();
  const { stdout } = await promisify(execFile)(
    process.execPath,
    [
      resolve(root, "node_modules/wrangler/bin/wrangler.js"),
      "deploy",
      "--dry-run",
      "--outdir",
      EDGE_BUNDLE_DIR,
    ],
    { cwd: root, env: { ...process.env, WRANGLER_SEND_METRICS: "false" }, maxBuffer: 16 * 1024 * 1024 },
  );
  const match = /Total Upload: ([\d.]+) KiB \/ gzip: ([\d.]+) KiB/.exec(stdout);
  if (!match) throw new Error(`wrangler did not report the bundle size:\n${stdout}`);
  return { totalKiB: Number(match[1]), gzipKiB: Number(match[2]) };
}

/** Rebuilds the bundle only when a source is newer than it, so a warm `npm start` skips the build. */
export async function ensureEdgeBuilt(say: (line: string) => void): Promise<void> {
  const bundle = join(EDGE_BUNDLE_DIR, "worker.js");
  const stale =
    !existsSync(bundle) || SOURCES.some((s) => newestMtime(resolve(root, s)) > statSync(bundle).mtimeMs);
  if (!stale) return;
  say("building the edge worker bundle");
  const size = await buildEdge();
  say(`edge bundle: ${size.totalKiB} KiB, ${size.gzipKiB} KiB gzip`);
}
