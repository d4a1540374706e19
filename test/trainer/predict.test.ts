import { existsSync } from "node:fs";
import { cp, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sha256Hex } from "#shared/hash.ts";
import { graphInputOf, type Manifest, riskBand } from "#shared/manifest.ts";
import { main } from "../../trainer/src/cli/main.ts";
import { cellReader } from "../../trainer/src/data/cells.ts";
import { parseCsvText } from "../../trainer/src/data/csv.ts";
import { quoteCsv, toCsv } from "../../trainer/src/data/csv-writer.ts";
import { loadDataset } from "../../trainer/src/data/dataset.ts";
import { generateTelco, TELCO_COLUMNS } from "../../trainer/src/data/synthetic.ts";
import { batchFromDataset, type FeatureBatch } from "../../trainer/src/ml/features.ts";
import { runOnnx } from "../../trainer/src/ml/parity.ts";
import { predict, scoreLines } from "../../trainer/src/pipeline/predict.ts";
import { type TrainResult, trainToDirectory } from "../../trainer/src/pipeline/train.ts";
import { captureIo, range, writeTelcoCsv } from "./fixtures.ts";

let dir: string;
let model: TrainResult;
let fresh: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "churn-predict-"));
  const csv = path.join(dir, "train.csv");
  await writeTelcoCsv(csv, 800, 4);
  model = await trainToDirectory({
    data: csv,
    target: "Churn",
    positive: "Yes",
    out: path.join(dir, "model"),
    timeBudget: 5,
  });
  // New customers, columns shuffled, without the target: what a scoring job sees.
  const columns = [...TELCO_COLUMNS.filter((c) => c !== "Churn")].reverse();
  fresh = path.join(dir, "fresh.csv");
  await writeFile(fresh, toCsv(generateTelco(300, 99), columns));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("churn predict", () => {
  it("scores a CSV in batches exactly as the graph does, keeping the id column", async () => {
    const out = path.join(dir, "scores.csv");
    const result = await predict({
      model: model.outDir,
      data: fresh,
      out,
      idColumn: "customerID",
      batchSize: 64,
    });
    expect(result.rows).toBe(300);
    expect(result.rowsPerSecond).toBeGreaterThan(0);
    const records = await parseCsvText(await readFile(out, "utf8"));
    expect(records[0]!.cells).toEqual(["customerID", "probability", "contact", "risk_band"]);
    expect(records).toHaveLength(301);

    const withTarget = path.join(dir, "fresh-labelled.csv");
    await writeFile(withTarget, toCsv(generateTelco(300, 99), TELCO_COLUMNS));
    const dataset = await loadDataset(withTarget, { target: "Churn", positive: "Yes" });
    const expected = (
      await runOnnx(new Uint8Array(await readFile(model.files.model)), batchFromDataset(dataset, range(300)))
    ).probability;
    const ids = generateTelco(300, 99).map((r) => r.customerID);
    let contacts = 0;
    records.slice(1).forEach(({ cells }, i) => {
      const p = Number(cells[1]);
      expect(cells[0]).toBe(ids[i]);
      expect(Math.abs(p - expected[i]!)).toBeLessThanOrEqual(5e-7);
      expect(cells[2]).toBe(String(expected[i]! >= model.manifest.threshold));
      expect(cells[3]).toBe(riskBand(expected[i]!, model.manifest.riskBands));
      if (cells[2] === "true") contacts++;
    });
    expect(result.contacts).toBe(contacts);
  });

  it("runs from the CLI and reports rows per second", async () => {
    const { io, sink } = captureIo();
    const out = path.join(dir, "cli-scores.csv");
    const code = await main(["predict", "--model", model.outDir, "--data", fresh, "--out", out], sink);
    expect(io.stderr).toBe("");
    expect(code).toBe(0);
    expect(io.stdout).toMatch(/^scored 300 rows in [\d.]+ s \([\d,]+ rows\/s\); \d+ to contact; wrote /);
    // Default id: the first column (here TotalCharges, as the columns were reversed).
    expect((await readFile(out, "utf8")).split("\n")[0]).toBe("TotalCharges,probability,contact,risk_band");
  });

  it("exits non-zero naming a missing feature column or the line of a bad number", async () => {
    const { io, sink } = captureIo();
    const noTenure = path.join(dir, "no-tenure.csv");
    await writeFile(
      noTenure,
      toCsv(
        generateTelco(5, 1),
        TELCO_COLUMNS.filter((c) => c !== "tenure"),
      ),
    );
    expect(
      await main(
        ["predict", "--model", model.outDir, "--data", noTenure, "--out", path.join(dir, "x.csv")],
        sink,
      ),
    ).toBe(1);
    expect(io.stderr).toMatch(/lacks the model's feature column\(s\): tenure/);

    const rows = generateTelco(5, 1);
    rows[3]!.MonthlyCharges = "lots";
    const bad = path.join(dir, "bad.csv");
    await writeFile(bad, toCsv(rows, TELCO_COLUMNS));
    io.stderr = "";
    expect(
      await main(["predict", "--model", model.outDir, "--data", bad, "--out", path.join(dir, "y.csv")], sink),
    ).toBe(1);
    expect(io.stderr).toMatch(/CSV line 5: column "MonthlyCharges" must be a number, got "lots"/);
  });
});

/**
 * Customers as real exports hold them, beside the generator's: blank cells and missing-value markers,
 * padded and unseen categories, a NUL byte, and ids that need quoting.
 */
function awkwardCustomers(): string {
  const rows = generateTelco(240, 5);
  const tweaks: [keyof (typeof rows)[number], string][] = [
    ["Contract", ""],
    ["Contract", "Two year "],
    ["InternetService", "Satellite"],
    ["PaymentMethod", "NA"],
    ["tenure", ""],
    ["MonthlyCharges", "N/A"],
    ["TotalCharges", " "],
    ["gender", "Female\u0000x"],
    ["customerID", 'id, "quoted"'],
  ];
  rows.forEach((row, i) => {
    const [column, value] = tweaks[i % (tweaks.length + 3)] ?? [];
    if (column) row[column] = value!;
  });
  return toCsv(
    rows,
    TELCO_COLUMNS.filter((c) => c !== "Churn"),
  );
}

/**
 * The scores file as the graph computes it when fed each row's text cells untouched (trimmed, "" when
 * missing) through onnxruntime-web in one batch: the reference `churn predict` must reproduce byte for
 * byte, however it batches, threads or feeds the graph.
 */
async function referenceScores(modelDir: string, csvText: string): Promise<string> {
  const manifest = JSON.parse(await readFile(path.join(modelDir, "manifest.json"), "utf8")) as Manifest;
  const [header, ...records] = await parseCsvText(csvText);
  const reader = cellReader();
  const values: FeatureBatch["values"] = {};
  for (const f of manifest.features) {
    const j = header!.cells.indexOf(f.name);
    const cells = records.map((r) => r.cells[j]!.trim());
    const missing = (t: string) => reader.missingMarker(t) !== undefined;
    values[f.name] =
      f.type === "numeric"
        ? Float32Array.from(cells, (t) => (missing(t) ? Number.NaN : reader.number(t)))
        : cells.map((t) => (missing(t) ? "" : t));
  }
  const bytes = new Uint8Array(await readFile(path.join(modelDir, "model.onnx")));
  const features = manifest.features.map((f) => ({ name: f.name, input: graphInputOf(f) }));
  const { probability } = await runOnnx(bytes, { rows: records.length, values }, features);
  const ids = records.map((r) => r.cells[0]!);
  return `${quoteCsv(header!.cells[0]!)},probability,contact,risk_band\n${scoreLines(ids, probability, manifest).text}`;
}

describe.each([
  { family: "gbdt" as const, timeBudget: 4 },
  { family: "mlp" as const, timeBudget: 4 },
  { family: "auto" as const, timeBudget: 6 },
])("churn predict with a $family model", ({ family, timeBudget }) => {
  let modelDir: string;
  let customers: string;
  let reference: string;

  beforeAll(async () => {
    const csv = path.join(dir, `train-${family}.csv`);
    await writeTelcoCsv(csv, 700, 8);
    const trained = await trainToDirectory({
      data: csv,
      target: "Churn",
      positive: "Yes",
      out: path.join(dir, `model-${family}`),
      model: family,
      timeBudget,
    });
    modelDir = trained.outDir;
    customers = path.join(dir, `customers-${family}.csv`);
    const text = awkwardCustomers();
    await writeFile(customers, text);
    reference = await referenceScores(modelDir, text);
  });

  it("writes byte for byte what the graph computes from the text, whatever the batch size or thread", async () => {
    for (const [batchSize, scoringThread] of [
      [4096, true],
      [4096, false],
      [1, true],
      [37, false],
    ] as const) {
      const out = path.join(dir, `scores-${family}-${batchSize}-${scoringThread}.csv`);
      const result = await predict({ model: modelDir, data: customers, out, batchSize, scoringThread });
      expect(result.rows).toBe(240);
      expect(await readFile(out, "utf8")).toBe(reference);
    }
  });
});

describe("churn predict when onnxruntime refuses the model", () => {
  it("fails as INVALID_MODEL on either thread, leaves no scores file and does not hang", async () => {
    const broken = path.join(dir, "broken-model");
    await cp(model.outDir, broken, { recursive: true });
    const garbage = new TextEncoder().encode("not an onnx graph");
    await writeFile(path.join(broken, "model.onnx"), garbage);
    const manifest = JSON.parse(await readFile(path.join(broken, "manifest.json"), "utf8"));
    manifest.onnx.sha256 = await sha256Hex(garbage);
    await writeFile(path.join(broken, "manifest.json"), JSON.stringify(manifest));
    for (const scoringThread of [true, false]) {
      const out = path.join(dir, `broken-${scoringThread}.csv`);
      await expect(predict({ model: broken, data: fresh, out, scoringThread })).rejects.toMatchObject({
        code: "INVALID_MODEL",
        message: expect.stringMatching(/^onnxruntime cannot load the model: .*protobuf/),
      });
      expect(existsSync(out)).toBe(false);
    }
  });

  it("refuses bytes that do not match the manifest's sha256 before scoring anything", async () => {
    const tampered = path.join(dir, "tampered-model");
    await cp(model.outDir, tampered, { recursive: true });
    const bytes = await readFile(path.join(tampered, "model.onnx"));
    bytes[bytes.length - 1] = bytes.at(-1)! ^ 1;
    await writeFile(path.join(tampered, "model.onnx"), bytes);
    for (const scoringThread of [true, false]) {
      const out = path.join(dir, `tampered-${scoringThread}.csv`);
      await expect(predict({ model: tampered, data: fresh, out, scoringThread })).rejects.toMatchObject({
        code: "INVALID_MODEL",
        message: expect.stringMatching(/does not match the manifest's sha256/),
      });
      expect(existsSync(out)).toBe(false);
    }
  });
});
