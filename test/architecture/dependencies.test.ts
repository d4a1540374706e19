import { readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";

const root = resolve(import.meta.dirname, "../..");
const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as {
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};
const IMPORT = /^\s*(?:import|export)\s+(type\s+)?[^;]*?\s+from\s+"([^"]+)"/gm;
/** `await import("…")`: loaded at run time just the same. */
const DYNAMIC_IMPORT = /\bimport\(\s*"([^"]+)"\s*\)/g;

function sourceFiles(dir: string): string[] {
  return readdirSync(join(root, dir), { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith(".ts") && !entry.name.endsWith(".d.ts") ? [path] : [];
  });
}

/** The npm packages a tree imports at run time (type-only imports are erased). */
function packagesImportedBy(dirs: string[]): Set<string> {
  const names = new Set<string>();
  for (const file of dirs.flatMap(sourceFiles)) {
    const text = readFileSync(join(root, file), "utf8");
    const specs = [
      ...[...text.matchAll(IMPORT)].filter((m) => !m[1]).map((m) => m[2]!),
      ...[...text.matchAll(DYNAMIC_IMPORT)].map((m) => m[1]!),
    ];
    for (const spec of specs) {
      if (spec.startsWith(".") || spec.startsWith("#") || spec.startsWith("node:")) continue;
      const parts = spec.split("/");
      names.add(spec.startsWith("@") ? `${parts[0]}/${parts[1]}` : parts[0]!);
    }
  }
  return names;
}

describe("dependencies", () => {
  it("lets the control plane's production entry run on production dependencies alone", () => {
    const missing = [...packagesImportedBy(["control-plane/src", "shared/src"])].filter(
      (name) => !(name in pkg.dependencies),
    );
    expect(missing).toEqual([]);
  });

  it("keeps the local runtime (Miniflare, workerd, Wrangler) out of the production dependencies", () => {
    for (const name of ["miniflare", "wrangler", "workerd"])
      expect(pkg.dependencies).not.toHaveProperty(name);
    expect(pkg.devDependencies).toHaveProperty("miniflare");
  });
});
