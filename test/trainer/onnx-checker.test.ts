import { execFileSync, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { trainFixtureModel } from "../helpers/model-fixture.ts";

/** onnx's own checker (Debian's python3-onnx, installed by .ci/run) validates every exported graph. */
const python = existsSync("/usr/bin/python3") ? "/usr/bin/python3" : "python3";
const hasOnnxChecker = spawnSync(python, ["-c", "import onnx"], { stdio: "ignore" }).status === 0;
// In CI the checker must be there; elsewhere the test runs when it is.
const mustRun = process.env["CI"] === "true";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "churn-onnx-checker-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("onnx.checker", () => {
  it.skipIf(!hasOnnxChecker && !mustRun)(
    "accepts the logistic-regression graph with full checks",
    async () => {
      const fixture = await trainFixtureModel(dir, { rows: 800, seed: 3 });
      const script = [
        "import sys, onnx",
        "m = onnx.load(sys.argv[1])",
        "onnx.checker.check_model(m, full_check=True)",
        "print(m.ir_version, [(o.domain or 'ai.onnx', o.version) for o in m.opset_import])",
      ].join("\n");
      const out = execFileSync(python, ["-c", script, path.join(fixture.dir, "model.onnx")], {
        encoding: "utf8",
      });
      expect(out).toContain("8");
    },
  );
});
