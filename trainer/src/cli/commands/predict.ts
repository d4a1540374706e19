import { DEFAULT_PREDICT_BATCH, type PredictResult, predict } from "../../pipeline/predict.ts";
import { type Command, integerFlag, required, TABLE_FLAGS, tableFlags } from "../flags.ts";
import { progressPrinter } from "../progress.ts";

export const predictCommand: Command = {
  summary: "Score a CSV of any size with a trained model; writes id, probability, contact and risk band",
  usage: `churn predict --model <dir> --data <csv> --out <csv> [options]

  --model <dir>    directory with model.onnx and manifest.json (as written by churn train)
  --data <csv>     customers to score, with a header row holding every feature column
  --out <csv>      output: id, probability, contact, risk_band
  --id <column>    column copied as the id (default: the first column)
  --batch <n>      rows per onnxruntime call (default ${DEFAULT_PREDICT_BATCH})
  --sep, --encoding, --decimal, --na-values   read the file as churn train does (default: detected)
  --json           print the result as JSON`,
  options: {
    model: { type: "string" },
    data: { type: "string" },
    out: { type: "string" },
    id: { type: "string" },
    batch: { type: "string" },
    ...TABLE_FLAGS,
    json: { type: "boolean" },
  },
  async run(values, io) {
    const json = values.json === true;
    const progress = progressPrinter(io, json);
    let result: PredictResult;
    try {
      result = await predict({
        model: required(values, "model"),
        data: required(values, "data"),
        out: required(values, "out"),
        ...(values.id !== undefined ? { idColumn: String(values.id) } : {}),
        ...(values.batch !== undefined ? { batchSize: integerFlag(values, "batch") } : {}),
        ...tableFlags(values),
        onProgress: (rows, elapsedMs) =>
          progress.update({
            phase: "predict",
            message: `${rows.toLocaleString("en-US")} rows scored`,
            elapsedMs,
          }),
      });
    } finally {
      progress.clear();
    }
    io.out(
      json
        ? `${JSON.stringify(result, null, 2)}\n`
        : `scored ${result.rows} rows in ${result.seconds.toFixed(2)} s (${Math.round(result.rowsPerSecond).toLocaleString("en-US")} rows/s); ${result.contacts} to contact; wrote ${result.out}\n`,
    );
    return 0;
  },
};
