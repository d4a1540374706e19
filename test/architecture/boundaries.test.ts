import { execFile } from "node:child_process";
import { copyFile, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const root = resolve(import.meta.dirname, "../..");
const run = promisify(execFile);

/** Runs a tool and returns its exit code and combined output instead of throwing on failure. */
async function outcome(file: string, args: string[], cwd: string): Promise<{ code: number; output: string }> {
  try {
    const { stdout, stderr } = await run(file, args, { cwd, maxBuffer: 16 * 1024 * 1024 });
    return { code: 0, output: stdout + stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, output: failed.stdout + failed.stderr };
  }
}

describe("service boundaries", () => {
  // A copy of the repository's lint configuration over probe files laid out like the services.
  let sandbox: string;
  let lint: { code: number; output: string };
  const probes: Record<string, string> = {
    "edge/src/imports-trainer.ts": 'import { x } from "../../trainer/src/cli/main.ts";',
    "edge/src/imports-control-plane.ts": 'import { x } from "../../control-plane/src/platform/app.ts";',
    "control-plane/src/imports-trainer.ts": 'import { x } from "../../trainer/src/cli/main.ts";',
    "control-plane/src/imports-edge.ts": 'import { x } from "../../edge/src/app.ts";',
    "trainer/src/deep/imports-edge.ts": 'import { x } from "../../../edge/src/app.ts";',
    "shared/src/imports-edge.ts": 'import { x } from "../../edge/src/app.ts";',
    "shared/src/imports-alias.ts": 'import { x } from "#shared/ids.ts";',
  };
  const allowed = "edge/src/imports-shared.ts";
  const drizzleInService = "control-plane/src/modules/probe/service.ts";
  const drizzleInQueries = "control-plane/src/modules/probe/queries.ts";
  const foreignQueries = "control-plane/src/modules/other/routes/v1_other.ts";
  const ownQueries = "control-plane/src/modules/probe/routes/v1_probe.ts";

  beforeAll(async () => {
    sandbox = await mkdtemp(join(tmpdir(), "churn-boundaries-"));
    await copyFile(join(root, "biome.json"), join(sandbox, "biome.json"));
    const files = {
      ...probes,
      [allowed]: 'import { x } from "#shared/ids.ts";',
      [drizzleInService]: 'import { eq as x } from "drizzle-orm";',
      [drizzleInQueries]: 'import { eq as x } from "drizzle-orm";',
      [foreignQueries]: 'import { x } from "../../probe/queries.ts";',
      [ownQueries]: 'import { x } from "../queries.ts";',
    };
    for (const [path, line] of Object.entries(files)) {
      await mkdir(dirname(join(sandbox, path)), { recursive: true });
      await writeFile(join(sandbox, path), `${line}\n\nexport const y = x;\n`);
    }
    lint = await outcome(
      join(root, "node_modules/.bin/biome"),
      ["lint", "--max-diagnostics=100", "."],
      sandbox,
    );
  });
  afterAll(() => rm(sandbox, { recursive: true, force: true }));

  it("fails the lint when a service imports another service", () => {
    expect(lint.code).not.toBe(0);
    for (const path of Object.keys(probes)) {
      expect(lint.output, path).toMatch(new RegExp(`${path}:1:\\d+ lint/style/noRestrictedImports`));
    }
  });

  it("lets a service import shared/ through its alias", () => {
    expect(lint.output).not.toContain(allowed);
  });

  it("lets only a module's query files import drizzle", () => {
    expect(lint.output).toMatch(new RegExp(`${drizzleInService}:1:\\d+ lint/style/noRestrictedImports`));
    expect(lint.output).toContain("Only query files import drizzle");
    expect(lint.output).not.toContain(drizzleInQueries);
  });

  it("keeps a module's query files to itself", () => {
    expect(lint.output).toMatch(new RegExp(`${foreignQueries}:1:\\d+ lint/style/noRestrictedImports`));
    expect(lint.output).toContain("never its query files");
    expect(lint.output).not.toContain(ownQueries);
  });

  it("type-checks the edge against the Workers runtime only: Node and DOM globals fail", async () => {
    const probe = join(root, "test/fixtures/boundaries/edge-probe/tsconfig.json");
    const { code, output } = await outcome(
      process.execPath,
      [join(root, "node_modules/typescript/bin/tsc"), "-p", probe],
      root,
    );
    expect(code).not.toBe(0);
    expect(output).toMatch(/probe\.ts\(3,\d+\): error TS2591: Cannot find name 'node:fs'/);
    expect(output).toMatch(/probe\.ts\(6,\d+\): error TS2584: Cannot find name 'document'/);
  });
});
