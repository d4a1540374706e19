import { spawnSync } from "node:child_process";

/**
 * The benchmarks' outside tools come from Debian: when one is missing, the bench installs its package
 * (through sudo unless running as root) and says so on stderr, instead of failing half-way.
 */
export function installDebianPackages(packages: readonly string[], why: string): void {
  console.error(`${why}: installing Debian's ${packages.join(" ")} (apt-get)`);
  const asRoot = process.getuid?.() === 0;
  for (const command of [
    ["apt-get", "update"],
    ["apt-get", "install", "-y", ...packages],
  ]) {
    const [file, ...rest] = asRoot ? command : ["sudo", ...command];
    const result = spawnSync(file!, rest, { stdio: ["ignore", "inherit", "inherit"] });
    if (result.status !== 0) throw new Error(`${[file, ...rest].join(" ")} failed (exit ${result.status})`);
  }
}

/** Interpreters tried in order: the one on PATH, then the system's, where Debian's packages install. */
const PYTHONS = ["python3", "/usr/bin/python3"];

/** A python3 that imports every module, installing the Debian packages that provide them when none does. */
export function pythonWith(modules: readonly string[], packages: readonly string[]): string {
  const importsAll = (python: string) =>
    spawnSync(python, ["-c", `import ${modules.join(", ")}`], { stdio: "ignore" }).status === 0;
  const found = PYTHONS.find(importsAll);
  if (found) return found;
  installDebianPackages(packages, `no python3 imports ${modules.join(", ")}`);
  const installed = PYTHONS.find(importsAll);
  if (!installed)
    throw new Error(`${packages.join(" ")} installed, yet no python3 imports ${modules.join(", ")}`);
  return installed;
}

/** A command on PATH, installing the Debian package that provides it when missing. */
export function ensureCommand(command: string, packageName: string): void {
  const found = () => spawnSync("sh", ["-c", `command -v ${command}`], { stdio: "ignore" }).status === 0;
  if (found()) return;
  installDebianPackages([packageName], `${command} is not installed`);
  if (!found()) throw new Error(`${packageName} installed, yet ${command} is not on PATH`);
}
