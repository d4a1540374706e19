import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestProject } from "vitest/node";
import { trainFixtureModel } from "../helpers/model-fixture.ts";

declare module "vitest" {
  export interface ProvidedContext {
    edgeModel: { modelB64: string; manifestText: string };
  }
}

/** Trains the fixture model in Node once; the workerd tests receive its bytes as bindings. */
export default async function setup(project: TestProject) {
  const dir = await mkdtemp(join(tmpdir(), "churn-edge-fixture-"));
  const fixture = await trainFixtureModel(dir);
  project.provide("edgeModel", {
    modelB64: Buffer.from(fixture.bytes).toString("base64"),
    manifestText: fixture.manifestText,
  });
  return () => rm(dir, { recursive: true, force: true });
}
