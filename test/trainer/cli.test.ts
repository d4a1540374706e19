import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ExplainerTree, explainerPackageSchema } from "../../shared/src/explainer.ts";
import { manifestSchema } from "../../shared/src/manifest.ts";
import { commands, main } from "../../trainer/src/cli/main.ts";

const repoRoot = path.resolve(fileURLToPath(new URL("../..", import.meta.url)));
const bin = path.join(repoRoot, "bin/churn.js");

async function churn(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [bin, ...args], { cwd: repoRoot });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number; stdout: string; stderr: string };
    return { code: typeof e.code === "number" ? e.code : -1, stdout: e.stdout, stderr: e.stderr };
  }
}

function captureIo() {
  const io = { stdout: "", stderr: "" };
  return {
    io,
    sink: {
      out: (t: string) => {
        io.stdout += t;
      },
      err: (t: string) => {
        io.stderr += t;
      },
    },
  };
}

let dir: string;
let csv: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "churn-cli-"));
  csv = path.join(dir, "customers.csv");
  const { code, stdout } = await churn(["synth", "--rows", "400", "--seed", "3", "--out", csv]);
  expect(code).toBe(0);
  expect(stdout).toMatch(/wrote 400/);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("churn CLI", () => {
  it("synth writes the Telco header", async () => {
    const text = await readFile(csv, "utf8");
    expect(text.split("\n")[0]).toMatch(/^customerID,gender,SeniorCitizen,.*,TotalCharges,Churn$/);
    expect(text.trim().split("\n")).toHaveLength(401);
  });

  it("exits 1 and names a missing target column", async () => {
    const result = await churn([
      "train",
      "--data",
      csv,
      "--target",
      "Exited",
      "--positive",
      "1",
      "--out",
      dir,
    ]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^error \[INVALID_REQUEST\]: Target column "Exited" not found/);
  });

  it("exits 2 on an unknown flag or a missing required flag", async () => {
    const unknown = await churn(["train", "--data", csv, "--bogus"]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/--bogus/);
    const { io, sink } = captureIo();
    expect(await main(["train", "--data", csv], sink)).toBe(2);
    expect(io.stderr).toMatch(/missing required flag --target/);
    expect(await main(["frobnicate"], sink)).toBe(2);
    expect(await main(["constructor"], sink)).toBe(2);
  });

  it("passes exactly the declared number of positional arguments to a command", async () => {
    const seen: string[][] = [];
    commands["echo-test"] = {
      summary: "test only",
      usage: "churn echo-test <dir>",
      options: { loud: { type: "boolean" } },
      positionals: 1,
      run: async (_values, _io, positionals) => {
        seen.push(positionals ?? []);
        return 0;
      },
    };
    try {
      const { io, sink } = captureIo();
      expect(await main(["echo-test", "models/v1", "--loud"], sink)).toBe(0);
      expect(seen).toEqual([["models/v1"]]);
      expect(await main(["echo-test"], sink)).toBe(2);
      expect(await main(["echo-test", "a", "b"], sink)).toBe(2);
      expect(io.stderr).toMatch(/expected 1 argument\(s\), got 2/);
      expect(await main(["train", "stray"], sink)).toBe(2);
    } finally {
      delete commands["echo-test"];
    }
  });

  it("prints help listing the commands", async () => {
    const { io, sink } = captureIo();
    expect(await main(["--help"], sink)).toBe(0);
    expect(io.stdout).toMatch(/train/);
    expect(io.stdout).toMatch(/synth/);
  });

  it("trains and prints a JSON result", async () => {
    const { io, sink } = captureIo();
    const out = path.join(dir, "model");
    const code = await main(
      [
        "train",
        "--data",
        csv,
        "--target",
        "Churn",
        "--positive",
        "Yes",
        "--out",
        out,
        "--name",
        "telco-test",
        "--time-budget",
        "10",
        "--json",
      ],
      sink,
    );
    expect(code).toBe(0);
    const result = JSON.parse(io.stdout);
    expect(result.manifest.name).toBe("telco-test");
    expect(result.parity.maxDiff).toBeLessThanOrEqual(1e-5);
    expect(result.rows).toEqual({ train: 320, holdout: 80 });
    // --json: progress and warnings are JSON lines on stderr, never free text.
    const events = io.stderr
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line));
    expect(events.some((e) => e.event === "progress" && e.phase === "search")).toBe(true);
    expect(events.at(-1)).toMatchObject({ event: "progress", phase: "done" });
    expect(
      events
        .filter((e) => e.event === "warning")
        .map((e) => e.message)
        .join(),
    ).toMatch(/customerID/);
  });
});

/** Levels of splits from the root to the deepest leaf (a lone leaf is depth 0). */
function treeDepth(tree: ExplainerTree, node = 0): number {
  if (tree.feature[node] === -1) return 0;
  return 1 + Math.max(treeDepth(tree, tree.left[node]!), treeDepth(tree, tree.right[node]!));
}

describe("churn train --params", () => {
  const train = (params: string, model = "gbdt") => {
    const { io, sink } = captureIo();
    const out = path.join(dir, `fixed-${model}`);
    const args = ["train", "--data", csv, "--target", "Churn", "--positive", "Yes", "--out", out];
    return main([...args, "--model", model, "--params", params, "--time-budget", "1"], sink).then((code) => ({
      code,
      stderr: io.stderr,
      out,
    }));
  };
  const readModel = async (out: string) => ({
    manifest: manifestSchema.parse(JSON.parse(await readFile(path.join(out, "manifest.json"), "utf8"))),
    trees: explainerPackageSchema.parse(JSON.parse(await readFile(path.join(out, "explainer.json"), "utf8")))
      .trees,
    runs: JSON.parse(await readFile(path.join(out, "runs.json"), "utf8")) as unknown[],
  });

  it("refuses bad JSON, unknown keys and out-of-range values, naming the key, before reading data", async () => {
    const badJson = await train("{rounds: 20}");
    expect(badJson.code).toBe(1);
    expect(badJson.stderr).toMatch(/Model params is not valid JSON/);

    const unknown = await train('{"rounds": 20, "max_depth": 3}');
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/Model params for gbdt: unknown key "max_depth"; gbdt takes rounds, /);

    const tooDeep = await train('{"maxDepth": 40}');
    expect(tooDeep.code).toBe(1);
    expect(tooDeep.stderr).toMatch(/"maxDepth" expected number to be <=16, got 40/);

    const noTrees = await train('{"rounds": 0}');
    expect(noTrees.stderr).toMatch(/"rounds" expected number to be >=1, got 0/);
    const fractional = await train('{"rounds": 2.5}');
    expect(fractional.stderr).toMatch(/"rounds" .*int.*got 2.5/);
    const rate = await train('{"learningRate": 1.5}');
    expect(rate.stderr).toMatch(/"learningRate" expected number to be <=1, got 1.5/);
    const lossguide = await train('{"growth": "lossguide"}');
    expect(lossguide.stderr).toMatch(/"growth" "lossguide" needs "maxLeaves"/);
    // A key another family takes is still unknown to this one.
    const forestRate = await train('{"learningRate": 0.1}', "random_forest");
    expect(forestRate.stderr).toMatch(/random_forest: unknown key "learningRate"/);
    const notObject = await train("[1, 2]");
    expect(notObject.code).toBe(1);

    const { io, sink } = captureIo();
    const args = ["train", "--data", csv, "--target", "Churn", "--positive", "Yes", "--out", dir];
    expect(await main([...args, "--params", '{"rounds": 20}'], sink)).toBe(1);
    expect(io.stderr).toMatch(/choose it with model gbdt/);
    // Every refusal came before the data was read: nothing was written.
    for (const model of ["gbdt", "random_forest"]) {
      await expect(readFile(path.join(dir, `fixed-${model}`, "manifest.json"))).rejects.toThrow();
    }
  });

  it("--model gbdt with 20 rounds of depth 3 gives exactly 20 trees no deeper than 3, with no search", async () => {
    const { code, stderr, out } = await train('{"rounds": 20, "maxDepth": 3}');
    expect(code, stderr).toBe(0);
    const { manifest, trees, runs } = await readModel(out);
    expect(trees).toHaveLength(20);
    const depths = trees.map((t) => treeDepth(t));
    expect(Math.max(...depths)).toBeLessThanOrEqual(3);
    expect(Math.max(...depths)).toBeGreaterThan(0);
    expect(manifest.family).toBe("gbdt");
    expect(manifest.lineage.params["selection"]).toBe("fixed hyper-parameters (no search)");
    const [member] = manifest.lineage.params["members"] as { params: Record<string, unknown> }[];
    expect(member!.params).toMatchObject({ rounds: 20, maxDepth: 3, trees: 20, earlyStoppingRounds: 0 });
    // One candidate, cross-validated for the calibration; nothing else tried.
    expect(runs).toHaveLength(1);
    expect(manifest.calibration?.method).toBeDefined();
  });

  it("keeps every round asked for where early stopping would have stopped", async () => {
    // A learning rate of 1 overfits 320 rows within a few dozen rounds: a search fit would stop there.
    const { code, stderr, out } = await train('{"rounds": 120, "maxDepth": 4, "learningRate": 1}');
    expect(code, stderr).toBe(0);
    expect((await readModel(out)).trees).toHaveLength(120);
  });
});
