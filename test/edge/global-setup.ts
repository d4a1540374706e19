import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import type { TestProject } from "vitest/node";
import { writeWarmUpModel } from "../../scripts/lib/warm-up-model.ts";

interface EdgeFixture {
  modelB64: string;
  manifestText: string;
  explainerText: string;
}

declare module "vitest" {
  export interface ProvidedContext {
    edgeModels: { linear: EdgeFixture; tree: EdgeFixture; mlp: EdgeFixture };
  }
}

const run = promisify(execFile);
const churn = resolve(import.meta.dirname, "../../bin/churn.js");

async function trainWithCli(dir: string, csv: string, name: string, flags: string[]): Promise<EdgeFixture> {
  const out = join(dir, name);
  await run(process.execPath, [
    churn,
    "train",
    "--data",
    csv,
    "--target",
    "Churn",
    "--positive",
    "Yes",
    "--out",
    out,
    ...flags,
  ]);
  const explainer = join(out, "explainer.json");
  return {
    modelB64: (await readFile(join(out, "model.onnx"))).toString("base64"),
    manifestText: await readFile(join(out, "manifest.json"), "utf8"),
    explainerText: existsSync(explainer) ? await readFile(explainer, "utf8") : "",
  };
}

/**
 * Trains the fixture models with the real CLI: a linear model (contributions in the graph), a calibrated
 * tree model (TreeSHAP explainer) and an MLP without calibration (DeepLIFT explainer, so its reasons add up to
 * the served probability's logit). The workerd tests receive
 * them as bindings.
 */
export default async function setup(project: TestProject) {
  // The worker imports its warm-up graph from the build output; write it for runs that skip the build.
  await writeWarmUpModel();
  const dir = await mkdtemp(join(tmpdir(), "churn-edge-fixture-"));
  const csv = join(dir, "customers.csv");
  await run(process.execPath, [churn, "synth", "--rows", "1500", "--seed", "7", "--out", csv]);
  const [linear, tree, mlp] = await Promise.all([
    trainWithCli(dir, csv, "linear", [
      "--model",
      "logistic_regression",
      "--calibration",
      "none",
      "--time-budget",
      "10",
    ]),
    trainWithCli(dir, csv, "tree", ["--model", "gbdt", "--time-budget", "10"]),
    trainWithCli(dir, csv, "mlp", ["--model", "mlp", "--calibration", "none", "--time-budget", "10"]),
  ]);
  project.provide("edgeModels", { linear, tree, mlp });
  return () => rm(dir, { recursive: true, force: true });
}
