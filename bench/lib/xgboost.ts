import { spawnSync } from "node:child_process";

/** Interpreters tried in order: the one on PATH, then the system's, where Debian's packages install. */
const CANDIDATES = ["python3", "/usr/bin/python3"];

function importsXgboost(python: string): boolean {
  const result = spawnSync(python, ["-c", "import numpy, xgboost"], { stdio: "ignore" });
  return result.status === 0;
}

/**
 * A Python interpreter that imports XGBoost. When none does, installs Debian's `python3-xgboost`
 * (through sudo unless running as root) and says so on stderr; fails when that does not help.
 */
export function ensureXgboost(): string {
  const found = CANDIDATES.find(importsXgboost);
  if (found) return found;
  console.error("XGBoost is not importable: installing Debian's python3-xgboost (apt-get)");
  const asRoot = process.getuid?.() === 0;
  for (const command of [
    ["apt-get", "update"],
    ["apt-get", "install", "-y", "python3-xgboost"],
  ]) {
    const [file, ...rest] = asRoot ? command : ["sudo", ...command];
    const result = spawnSync(file!, rest, { stdio: ["ignore", "inherit", "inherit"] });
    if (result.status !== 0) throw new Error(`${[file, ...rest].join(" ")} failed (exit ${result.status})`);
  }
  const installed = CANDIDATES.find(importsXgboost);
  if (!installed) throw new Error("python3-xgboost is installed but no python3 imports it");
  return installed;
}
