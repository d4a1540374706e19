import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { riskBand } from "#shared/manifest.ts";
import { main } from "../../trainer/src/cli/main.ts";
import { parseCsvText } from "../../trainer/src/data/csv.ts";
import { toCsv } from "../../trainer/src/data/csv-writer.ts";
import { loadDataset } from "../../trainer/src/data/dataset.ts";
import { generateTelco, TELCO_COLUMNS } from "../../trainer/src/data/synthetic.ts";
import { batchFromDataset } from "../../trainer/src/ml/features.ts";
import { runOnnx } from "../../trainer/src/ml/parity.ts";
import { predict } from "../../trainer/src/pipeline/predict.ts";
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
