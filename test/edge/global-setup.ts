import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import type { TestProject } from "vitest/node";

declare module "vitest" {
  export interface ProvidedContext {
    edgeModel: { modelB64: string; manifestText: string };
  }
}

const run = promisify(execFile);
const churn = resolve(import.meta.dirname, "../../bin/churn.js");

/** Trains the fixture model with the real CLI; the workerd tests receive its bytes as bindings. */
export default async function setup(project: TestProject) {
  const dir = await mkdtemp(join(tmpdir(), "churn-edge-fixture-"));
  const csv = join(dir, "customers.csv");
  const out = join(dir, "model");
  await run(process.execPath, [churn, "synth", "--rows", "1500", "--seed", "7", "--out", csv]);
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
  ]);
  project.provide("edgeModel", {
    modelB64: (await readFile(join(out, "model.onnx"))).toString("base64"),
    manifestText: await readFile(join(out, "manifest.json"), "utf8"),
  });
  return () => rm(dir, { recursive: true, force: true });
}
