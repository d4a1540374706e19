import { existsSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { toCsv } from "../../trainer/src/data/csv-writer.ts";
import { generateTelco, TELCO_COLUMNS } from "../../trainer/src/data/synthetic.ts";
import { trainToDirectory } from "../../trainer/src/pipeline/train.ts";
import type { TrainOptions } from "../../trainer/src/pipeline/train-options.ts";

export interface ModelFixture {
  dir: string;
  bytes: Uint8Array;
  manifestText: string;
  /** explainer.json, for tree models. */
  explainerText: string | undefined;
}

/**
 * Trains a small real model on synthetic Telco-schema customers: the fixture suites score with. By default
 * a linear model without calibration (fast, contributions in the graph); pass `model: "gbdt"` for a tree
 * model with its TreeSHAP explainer.
 */
export async function trainFixtureModel(
  dir: string,
  options: { rows?: number; seed?: number } & Partial<
    Pick<TrainOptions, "model" | "calibration" | "timeBudget">
  > = {},
): Promise<ModelFixture> {
  await mkdir(dir, { recursive: true });
  const csv = join(dir, "customers.csv");
  await writeFile(csv, toCsv(generateTelco(options.rows ?? 1500, options.seed ?? 7), TELCO_COLUMNS));
  const out = join(dir, "model");
  await trainToDirectory({
    data: csv,
    target: "Churn",
    positive: "Yes",
    out,
    seed: options.seed ?? 7,
    model: options.model ?? "logistic_regression",
    calibration: options.calibration ?? "none",
    timeBudget: options.timeBudget ?? 10,
  });
  const explainerPath = join(out, "explainer.json");
  return {
    dir: out,
    bytes: new Uint8Array(await readFile(join(out, "model.onnx"))),
    manifestText: await readFile(join(out, "manifest.json"), "utf8"),
    explainerText: existsSync(explainerPath) ? await readFile(explainerPath, "utf8") : undefined,
  };
}

/** One realistic raw customer record, as an API client would send it. */
export const SAMPLE_CUSTOMER = {
  gender: "Female",
  SeniorCitizen: 0,
  Partner: "Yes",
  Dependents: "No",
  tenure: 1,
  PhoneService: "No",
  MultipleLines: "No phone service",
  InternetService: "DSL",
  OnlineSecurity: "No",
  OnlineBackup: "Yes",
  DeviceProtection: "No",
  TechSupport: "No",
  StreamingTV: "No",
  StreamingMovies: "No",
  Contract: "Month-to-month",
  PaperlessBilling: "Yes",
  PaymentMethod: "Electronic check",
  MonthlyCharges: 29.85,
  TotalCharges: 29.85,
} as const;
