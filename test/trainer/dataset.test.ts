import { describe, expect, it } from "vitest";
import { ChurnError } from "../../shared/src/errors.ts";
import { buildDataset, type Dataset, type DatasetOptions, loadDataset } from "../../trainer/src/dataset.ts";

function fromText(text: string, options: DatasetOptions): Promise<Dataset> {
  return loadDataset([text], options);
}

const telcoLike = [
  "customerID,tenure,Contract,MonthlyCharges,TotalCharges,Churn",
  "7590-VHVEG,1,Month-to-month,29.85,29.85,No",
  "5575-GNVDE,34,One year,56.95,1889.5,No",
  "4472-LVYGI,0,Two year,52.55, ,No",
  "3668-QPYBK,2, Month-to-month ,53.85,108.15,Yes",
].join("\n");

async function errorOf(promise: Promise<unknown>): Promise<ChurnError> {
  const error = await promise.catch((e: unknown) => e);
  expect(error).toBeInstanceOf(ChurnError);
  return error as ChurnError;
}

describe("loadDataset", () => {
  it("infers types and treats a blank TotalCharges as missing", async () => {
    const ds = await fromText(telcoLike, { target: "Churn", positive: "Yes" });
    expect(ds.rowCount).toBe(4);
    const byName = Object.fromEntries(ds.features.map((f) => [f.name, f]));
    const total = byName["TotalCharges"]!;
    expect(total.kind).toBe("numeric");
    if (total.kind !== "numeric") throw new Error("unreachable");
    expect(Number.isNaN(total.values[2]!)).toBe(true);
    expect(total.missing).toBe(1);
    expect(total.values[1]).toBe(1889.5);
    expect(byName["tenure"]!.kind).toBe("numeric");
    const contract = byName["Contract"]!;
    expect(contract.kind).toBe("categorical");
    expect(contract.values[3]).toBe("Month-to-month"); // trimmed
    expect([...ds.target.y]).toEqual([0, 0, 0, 1]);
    expect(ds.target.negative).toBe("No");
  });

  it("drops unique ID columns with a warning, and columns on request", async () => {
    const rows = ["id,plan,churn"];
    for (let i = 0; i < 30; i++) rows.push(`C${i},${i % 3 === 0 ? "basic" : "pro"},${i % 2 ? "yes" : "no"}`);
    const ds = await fromText(rows.join("\n"), { target: "churn", positive: "yes" });
    expect(ds.features.map((f) => f.name)).toEqual(["plan"]);
    expect(ds.warnings.join()).toMatch(/"id".*ID/);
    await expect(
      fromText(rows.join("\n"), { target: "churn", positive: "yes", drop: ["plan"] }),
    ).rejects.toThrow(/No feature columns/);
  });

  it("names a missing target column and lists the available ones", async () => {
    const error = await errorOf(fromText(telcoLike, { target: "Exited", positive: "Yes" }));
    expect(error.code).toBe("INVALID_REQUEST");
    expect(error.message).toContain('"Exited"');
    expect(error.message).toContain("customerID, tenure, Contract");
  });

  it("rejects a target without exactly two values, or an unknown positive label", async () => {
    const three = `${telcoLike}\n9999-XXXXX,5,One year,20,100,Maybe`;
    expect((await errorOf(fromText(three, { target: "Churn", positive: "Yes" }))).message).toMatch(
      /exactly 2 distinct values.*found 3.*"Maybe"/,
    );
    const one = telcoLike.replace(",Yes", ",No");
    expect((await errorOf(fromText(one, { target: "Churn", positive: "No" }))).message).toMatch(/found 1/);
    expect((await errorOf(fromText(telcoLike, { target: "Churn", positive: "1" }))).message).toMatch(
      /"1" is not a value of target "Churn".*"No" and "Yes"/,
    );
  });

  it("names the row of a blank target", async () => {
    const blank = `${telcoLike}\n1234-ABCDE,3,One year,20,60, `;
    expect((await errorOf(fromText(blank, { target: "Churn", positive: "Yes" }))).message).toMatch(
      /blank in data row 4 \(CSV line 6\)/,
    );
  });

  it("rejects a numeric column with garbage text, naming the column and an example", async () => {
    const lines = ["age,plan,churn"];
    for (let i = 0; i < 20; i++) lines.push(`${20 + i},basic,${i % 2 ? "yes" : "no"}`);
    lines.push("unknown,pro,yes");
    const error = await errorOf(fromText(lines.join("\n"), { target: "churn", positive: "yes" }));
    expect(error.message).toMatch(/Column "age" is mostly numeric/);
    expect(error.message).toMatch(/"unknown" in data row 20 \(CSV line 22\)/);
  });

  it("tolerates a rare stray text in a numeric column as missing, and keeps mostly-text columns categorical", () => {
    const n = 200;
    const numbers = Array.from({ length: n }, (_, i) => (i === 7 ? "n/a" : String(i)));
    const codes = Array.from({ length: n }, (_, i) => (i % 3 === 0 ? "12" : `A${i % 5}`));
    const target = Array.from({ length: n }, (_, i) => (i % 2 ? "1" : "0"));
    const lines = Array.from({ length: n }, (_, i) => i + 2);
    const ds = buildDataset(["x", "code", "y"], [numbers, codes, target], lines, {
      target: "y",
      positive: "1",
    });
    const [x, code] = ds.features;
    expect(x!.kind).toBe("numeric");
    expect(x!.missing).toBe(1);
    expect(ds.warnings.join()).toMatch(/"x": 1 non-numeric/);
    expect(code!.kind).toBe("categorical");
  });

  it("requires feature names that can be ONNX input names", async () => {
    const text = "monthly charges,plan,churn\n1,a,yes\n2,b,no\n";
    const error = await errorOf(fromText(text, { target: "churn", positive: "yes" }));
    expect(error.message).toMatch(/"monthly charges"/);
    const ok = await fromText(text, { target: "churn", positive: "yes", drop: ["monthly charges"] });
    expect(ok.features.map((f) => f.name)).toEqual(["plan"]);
  });

  it("rejects unknown --drop columns and header-only files", async () => {
    await expect(fromText(telcoLike, { target: "Churn", positive: "Yes", drop: ["nope"] })).rejects.toThrow(
      /Cannot drop column "nope"/,
    );
    await expect(fromText("a,b\n", { target: "b", positive: "x" })).rejects.toThrow(/no data rows/);
  });
});
