import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { ChurnError } from "#shared/errors.ts";

/** Where a model came from: the data file's fingerprint, the trainer's version and commit. */

const repoRoot = fileURLToPath(new URL("../../../", import.meta.url));

/** The data file's sha256, streamed (the file may be larger than memory allows to hold twice). */
export async function fileSha256(path: string): Promise<string> {
  const hash = createHash("sha256");
  try {
    for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  } catch (cause) {
    throw new ChurnError("INVALID_REQUEST", `Cannot read data file ${path}: ${(cause as Error).message}`, {
      cause,
    });
  }
  return hash.digest("hex");
}

export async function trainerVersion(): Promise<string> {
  const pkg = JSON.parse(await readFile(join(repoRoot, "package.json"), "utf8")) as { version?: string };
  return pkg.version ?? "0.0.0";
}

/** Commit of the trainer's source tree, when it is a git checkout with at least one commit. */
export async function currentGitCommit(): Promise<string | undefined> {
  try {
    const { stdout } = await promisify(execFile)("git", ["rev-parse", "HEAD"], {
      cwd: repoRoot,
      timeout: 5000,
    });
    const commit = stdout.trim();
    return /^[0-9a-f]{40}$/.test(commit) ? commit : undefined;
  } catch {
    return undefined;
  }
}
