/**
 * Builds the control-plane image from the Dockerfile and checks that its container answers /v1/ready, as
 * docs/deploy.md step 3 does by hand: where no registry is reachable, the Debian base is made locally
 * with debootstrap first (once; it stays in buildah's storage).
 *
 *   node scripts/image.ts [--tag localhost/churn-control-plane:dev]
 *
 * `npm test` ends with it. Without buildah, podman and debootstrap, or without root (debootstrap and
 * chroot isolation need it), it says so and skips, except under CI, where .ci/run installs them and a
 * skip would hide a broken image.
 */
import { execFile, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { chmod, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";

const BASE = "localhost/debian-local:bookworm";
const MIRROR = "http://deb.debian.org/debian";
const HOST_CA = "/etc/ssl/certs/ca-certificates.crt";
const root = resolve(import.meta.dirname, "..");
const { values } = parseArgs({
  options: { tag: { type: "string", default: "localhost/churn-control-plane:dev" } },
});
const tag = values.tag;

/** Runs a command with its output on ours; rejects naming the command when it fails. */
function sh(command: string, args: string[], options: { stdin?: NodeJS.ReadableStream } = {}): Promise<void> {
  return new Promise((ok, fail) => {
    const child = spawn(command, args, {
      cwd: root,
      stdio: [options.stdin ? "pipe" : "ignore", "inherit", "inherit"],
    });
    if (options.stdin) options.stdin.pipe(child.stdin!);
    child.once("error", fail);
    child.once("exit", (code) =>
      code === 0 ? ok() : fail(new Error(`${command} ${args[0]} exited with ${code}`)),
    );
  });
}

const installed = (command: string) =>
  new Promise<boolean>((ok) => execFile("sh", ["-c", `command -v ${command}`], (err) => ok(!err)));

const missing = [];
for (const tool of ["buildah", "podman", "debootstrap"]) if (!(await installed(tool))) missing.push(tool);
const why =
  missing.length > 0 ? `${missing.join(", ")} not installed` : process.getuid?.() !== 0 ? "not root" : null;
if (why) {
  if (process.env["CI"]) throw new Error(`image: cannot build the control-plane image here (${why})`);
  console.log(`image: skipped (${why}); .ci/run installs what it needs and builds it`);
  process.exit(0);
}

const vfs = ["--storage-driver", "vfs"];
const hasBase = await new Promise<boolean>((ok) =>
  execFile("buildah", [...vfs, "images", "--quiet", BASE], (err, stdout) => ok(!err && stdout.trim() !== "")),
);
if (!hasBase) {
  const rootfs = await mkdtemp(join(tmpdir(), "churn-rootfs-"));
  try {
    // mkdtemp makes its directory 0700, and it becomes the image's "/": the unprivileged user the image
    // runs as could then reach nothing under it.
    await chmod(rootfs, 0o755);
    console.log(`image: making ${BASE} with debootstrap`);
    await sh("debootstrap", ["--variant=minbase", "bookworm", rootfs, MIRROR]);
    const tar = spawn("tar", ["-C", rootfs, "-c", "."], { stdio: ["ignore", "pipe", "inherit"] });
    await sh("podman", [...vfs, "import", "-", BASE], { stdin: tar.stdout });
  } finally {
    await rm(rootfs, { recursive: true, force: true });
  }
}

// Behind a TLS-intercepting proxy npm inside the build needs the host's CA bundle; harmless elsewhere.
const ca = existsSync(HOST_CA)
  ? ["--volume", `${HOST_CA}:/host-ca.crt:ro`, "--build-arg", "NPM_CAFILE=/host-ca.crt"]
  : [];
const started = Date.now();
await sh("buildah", [
  ...vfs,
  "bud",
  "--isolation",
  "chroot",
  "--layers",
  "--format",
  "docker",
  "--quiet",
  ...ca,
  "--build-arg",
  `BASE=${BASE}`,
  "-t",
  tag,
  ".",
]);
console.log(`image: built ${tag} in ${((Date.now() - started) / 1000).toFixed(0)} s`);
await sh(process.execPath, ["scripts/image-check.ts", tag]);
