import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { generateTelco, TELCO_COLUMNS, toCsv } from "../../trainer/src/synthetic.ts";
import { train } from "../../trainer/src/train.ts";

export interface ModelFixture {
  dir: string;
  bytes: Uint8Array;
  manifestText: string;
}

/** Trains a small real model on synthetic Telco-schema customers: the fixture every suite scores with. */
export async function trainFixtureModel(
  dir: string,
  options: { rows?: number; seed?: number } = {},
): Promise<ModelFixture> {
  await mkdir(dir, { recursive: true });
  const csv = join(dir, "customers.csv");
  await writeFile(csv, toCsv(generateTelco(options.rows ?? 1500, options.seed ?? 7), TELCO_COLUMNS));
  const out = join(dir, "model");
  await train({ data: csv, target: "Churn", positive: "Yes", out, seed: options.seed ?? 7 });
  return {
    dir: out,
    bytes: new Uint8Array(await readFile(join(out, "model.onnx"))),
    manifestText: await readFile(join(out, "manifest.json"), "utf8"),
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
