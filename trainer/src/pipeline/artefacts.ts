import { mkdir, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import type { Manifest } from "#shared/manifest.ts";
import type { Run } from "../ml/automl/runs.ts";
import type { Decision } from "../ml/decision.ts";
import type { HoldoutMetrics } from "../ml/metrics.ts";
import type { ParityReport } from "../ml/parity.ts";
import type { DataQualityReport } from "../ml/quality.ts";

/** What a training run produced, held in memory until `writeArtefacts` puts it on disk. */
export interface TrainedModel {
  /** The files' contents: the graph, its manifest, the explainer package (trees and MLPs), the report. */
  artefacts: {
    onnx: Uint8Array;
    manifest: Manifest;
    explainer?: string;
    metrics: Record<string, unknown>;
    runs: Run[];
    report: string;
  };
  manifest: Manifest;
  /** Holdout metrics of the calibrated probability at the manifest's threshold. */
  metrics: HoldoutMetrics & Record<string, number>;
  cv: Record<string, number>;
  parity: ParityReport;
  rows: { train: number; holdout: number };
  warnings: string[];
  runs: Run[];
  dataQuality: DataQualityReport;
  decision: Decision;
  seconds: number;
}

/** A trained model once written: where each artefact went. */
export interface TrainResult extends Omit<TrainedModel, "artefacts"> {
  outDir: string;
  files: {
    model: string;
    manifest: string;
    metrics: string;
    runs: string;
    report: string;
    explainer?: string;
  };
}

/** Writes the artefacts into `out` (created if needed) under the names `churn publish` reads. */
export async function writeArtefacts(trained: TrainedModel, out: string): Promise<TrainResult> {
  const { artefacts, ...result } = trained;
  const outDir = resolve(out);
  await mkdir(outDir, { recursive: true });
  const files: TrainResult["files"] = {
    model: join(outDir, "model.onnx"),
    manifest: join(outDir, "manifest.json"),
    metrics: join(outDir, "metrics.json"),
    runs: join(outDir, "runs.json"),
    report: join(outDir, "report.html"),
    ...(artefacts.explainer ? { explainer: join(outDir, "explainer.json") } : {}),
  };
  await writeFile(files.model, artefacts.onnx);
  if (files.explainer && artefacts.explainer) await writeFile(files.explainer, artefacts.explainer);
  await writeFile(files.manifest, `${JSON.stringify(artefacts.manifest, null, 2)}\n`);
  await writeFile(files.metrics, `${JSON.stringify(artefacts.metrics, null, 2)}\n`);
  await writeFile(files.runs, `${JSON.stringify(artefacts.runs, null, 2)}\n`);
  await writeFile(files.report, artefacts.report);
  return { ...result, outDir, files };
}
