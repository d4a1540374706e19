import type { SearchFamily } from "../../ml/automl/candidates.ts";
import { fixedParamKeys } from "../../ml/automl/fixed-params.ts";
import type { CalibrationChoice } from "../../ml/calibration.ts";
import { DECISION_DEFAULTS } from "../../ml/decision.ts";
import { LEAKAGE_STOP_AUC } from "../../ml/quality.ts";
import type { TrainResult } from "../../pipeline/train.ts";
import {
  DEFAULT_NAME,
  DEFAULT_SEED,
  DEFAULT_TIME_BUDGET,
  type ModelChoice,
} from "../../pipeline/train-options.ts";
import {
  type Command,
  choice,
  dropFlag,
  integerFlag,
  jsonFlag,
  numberFlag,
  required,
  schemaFlag,
  TABLE_FLAGS,
  tableFlags,
} from "../flags.ts";
import { progressPrinter } from "../progress.ts";

export const trainCommand: Command = {
  summary: "Train a churn model (AutoML) from a CSV and write the model, manifest, metrics, runs and report",
  usage: `churn train --data <csv> --target <column> --positive <value> --out <dir> [options]

  --data <csv>               training data with a header row
  --target <column>          binary target column, e.g. Churn
  --positive <value>         target value meaning "churned", e.g. Yes
  --out <dir>                output directory: model.onnx, manifest.json, metrics.json, runs.json,
                             report.html and, for tree and MLP models, explainer.json
  --model <family>           auto (default: search logistic regression, GBDT, random forest and MLP,
                             maybe ensemble them), logistic_regression, gbdt, random_forest or mlp
  --time-budget <seconds>    wall-clock budget of the whole run (default ${DEFAULT_TIME_BUDGET})
  --folds <k>                cross-validation folds (default 5; 3 under a 20 s budget or from 100,000 rows)
  --calibration <method>     auto (default: Platt, isotonic if clearly better), platt, isotonic or none
  --no-ensemble              never ensemble, keep the best single model
  --split <json>             {"train":[...],"test":[...]} 0-based data-row indices (default: stratified 80/20)
  --seed <n>                 random seed for the split, folds and search (default ${DEFAULT_SEED})
  --drop <a,b>               columns to leave out, comma-separated or repeated (ID-like and free-text
                             columns are dropped automatically); names as the header writes them
  --schema <json|file>       column types overriding inference, e.g. {"SeniorCitizen":"categorical"}
  --sep <char>               field separator: , ; tab | (default: detected from the file)
  --encoding <name>          utf-8 (default; a BOM selects UTF-16), latin1 (Windows-1252), utf-16le
  --decimal <mark>           . or , (default: detected; a comma only where the separator is not)
  --na-values <a,b>          more cells to read as missing, beyond blanks and NA N/A NaN null NULL None ? - #N/A
  --drop-missing-target      leave out rows whose target is missing instead of stopping
  --allow-leaky              train even when a column alone predicts the target (ROC-AUC >= ${LEAKAGE_STOP_AUC})
  --value-per-customer <v>   value of keeping a churner (default ${DECISION_DEFAULTS.valuePerCustomer})
  --offer-cost <c>           cost of one retention offer (default ${DECISION_DEFAULTS.offerCost})
  --offer-acceptance <a>     share of contacted churners the offer keeps (default ${DECISION_DEFAULTS.offerAcceptance})
  --threshold <t>            fixed decision threshold in [0,1] instead of the profit-optimal one
  --name <name>              model name in the manifest (default "${DEFAULT_NAME}")
  --l2 <lambda>              fix the logistic L2 penalty (1 = scikit-learn's C=1) instead of searching it
  --params <json|file>       fix the --model family's hyper-parameters instead of searching them; keys left
                             out keep the search's starting defaults; trees and epochs are exact (no early
                             stopping, no seed bagging, not cut by the budget). Keys by family:
${(["gbdt", "random_forest", "mlp", "logistic_regression"] as const).map(paramKeysHelp).join("\n")}
                             e.g. --model gbdt --params '{"rounds":100,"maxDepth":6,"learningRate":0.1}'
  --json                     JSON progress lines on stderr and the result as JSON on stdout`,
  options: {
    data: { type: "string" },
    target: { type: "string" },
    positive: { type: "string" },
    out: { type: "string" },
    model: { type: "string" },
    "time-budget": { type: "string" },
    folds: { type: "string" },
    calibration: { type: "string" },
    "no-ensemble": { type: "boolean" },
    split: { type: "string" },
    seed: { type: "string" },
    drop: { type: "string", multiple: true },
    schema: { type: "string" },
    ...TABLE_FLAGS,
    "drop-missing-target": { type: "boolean" },
    "allow-leaky": { type: "boolean" },
    "value-per-customer": { type: "string" },
    "offer-cost": { type: "string" },
    "offer-acceptance": { type: "string" },
    name: { type: "string" },
    threshold: { type: "string" },
    l2: { type: "string" },
    params: { type: "string" },
    json: { type: "boolean" },
  },
  async run(values, io) {
    const json = values.json === true;
    const model =
      values.model === undefined
        ? undefined
        : choice(values, "model", ["auto", "logistic_regression", "gbdt", "random_forest", "mlp"]);
    const calibration =
      values.calibration === undefined
        ? undefined
        : choice(values, "calibration", ["auto", "platt", "isotonic", "none"]);
    const decision = {
      ...(values["value-per-customer"] !== undefined
        ? { valuePerCustomer: numberFlag(values, "value-per-customer") }
        : {}),
      ...(values["offer-cost"] !== undefined ? { offerCost: numberFlag(values, "offer-cost") } : {}),
      ...(values["offer-acceptance"] !== undefined
        ? { offerAcceptance: numberFlag(values, "offer-acceptance") }
        : {}),
    };
    const timeBudget = values["time-budget"] !== undefined ? numberFlag(values, "time-budget") : undefined;
    const progress = progressPrinter(io, json, timeBudget ?? DEFAULT_TIME_BUDGET);
    let result: TrainResult;
    try {
      // Loaded on use: the training stack is most of the CLI, and other commands start faster without it.
      const { trainToDirectory } = await import("../../pipeline/train.ts");
      result = await trainToDirectory({
        data: required(values, "data"),
        target: required(values, "target"),
        positive: required(values, "positive"),
        out: required(values, "out"),
        ...(model !== undefined ? { model: model as ModelChoice } : {}),
        ...(timeBudget !== undefined ? { timeBudget } : {}),
        ...(values.folds !== undefined ? { folds: integerFlag(values, "folds") } : {}),
        ...(calibration !== undefined ? { calibration: calibration as CalibrationChoice } : {}),
        ...(values["no-ensemble"] ? { ensemble: false } : {}),
        ...(values.split !== undefined ? { split: String(values.split) } : {}),
        ...(values.seed !== undefined ? { seed: integerFlag(values, "seed") } : {}),
        ...(values.drop !== undefined ? { drop: dropFlag(values.drop) } : {}),
        ...tableFlags(values),
        ...(values["drop-missing-target"] ? { dropMissingTarget: true } : {}),
        ...(values["allow-leaky"] ? { allowLeaky: true } : {}),
        ...(values.schema !== undefined ? { schema: await schemaFlag(String(values.schema)) } : {}),
        ...(Object.keys(decision).length > 0 ? { decision } : {}),
        ...(values.name !== undefined ? { name: String(values.name) } : {}),
        ...(values.threshold !== undefined ? { threshold: numberFlag(values, "threshold") } : {}),
        ...(values.l2 !== undefined ? { l2: numberFlag(values, "l2") } : {}),
        ...(values.params !== undefined
          ? { params: await jsonFlag(String(values.params), "Model params") }
          : {}),
        onWarning: (w) => {
          progress.clear();
          io.err(json ? `${JSON.stringify({ event: "warning", message: w })}\n` : `warning: ${w}\n`);
        },
        onProgress: progress.update,
      });
    } finally {
      progress.clear();
    }
    io.out(json ? `${JSON.stringify(jsonResult(result), null, 2)}\n` : summary(result));
    return 0;
  },
};

/** One family's `--params` keys for the usage text, wrapped under the option's description column. */
function paramKeysHelp(family: SearchFamily): string {
  const indent = " ".repeat(29);
  const keys = fixedParamKeys(family);
  const lines = [`${indent}  ${family}:`];
  keys.forEach((key, i) => {
    const word = i < keys.length - 1 ? `${key},` : key;
    if (lines.at(-1)!.length + word.length + 1 > 108) lines.push(`${indent}    ${word}`);
    else lines[lines.length - 1] += ` ${word}`;
  });
  return lines.join("\n");
}

function jsonResult(result: TrainResult) {
  return {
    outDir: result.outDir,
    files: result.files,
    rows: result.rows,
    seconds: result.seconds,
    metrics: result.metrics,
    cv: result.cv,
    threshold: result.manifest.threshold,
    parity: result.parity,
    warnings: result.warnings,
    data: result.dataQuality.reading,
    dropped: result.dataQuality.dropped,
    runs: result.runs.length,
    manifest: result.manifest,
  };
}

function summary(result: TrainResult): string {
  const m = result.metrics;
  const members =
    (result.manifest.lineage.params["members"] as { weight: number; description: string }[]) ?? [];
  const files = Object.values(result.files).map((f) => f.slice(result.outDir.length + 1));
  return [
    `trained ${result.manifest.family} "${result.manifest.name}" on ${result.rows.train} rows in ${result.seconds.toFixed(1)} s (${result.runs.length} AutoML runs), holdout ${result.rows.holdout} rows`,
    ...members.map((x) => `  ${members.length > 1 ? `${x.weight} × ` : ""}${x.description}`),
    `  calibration ${result.manifest.calibration?.method}; threshold ${result.manifest.threshold.toFixed(2)} (profit-optimal for value ${result.decision.valuePerCustomer}, cost ${result.decision.offerCost}, acceptance ${result.decision.offerAcceptance})`,
    `  CV      ROC-AUC ${fmt(result.cv["roc_auc"])}  log loss ${fmt(result.cv["log_loss"])}  ECE ${fmt(result.cv["ece"])}`,
    `  holdout ROC-AUC ${m.roc_auc.toFixed(4)}  log loss ${m.log_loss.toFixed(4)}  ECE ${m.ece.toFixed(4)} (perfect calibration: ≈${fmt(m["ece_noise_floor"])})  PR-AUC ${m.pr_auc.toFixed(4)}`,
    `  ONNX parity max diff ${result.parity.maxDiff.toExponential(2)}`,
    `  wrote ${result.outDir} (${files.join(", ")})`,
    "",
  ].join("\n");
}

function fmt(value: number | undefined): string {
  return value === undefined ? "–" : value.toFixed(4);
}
