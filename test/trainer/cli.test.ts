import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
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
