import { describe, expect, it } from "vitest";
import { ChurnError } from "#shared/errors.ts";
import {
  buildDataset,
  type Dataset,
  type DatasetOptions,
  loadDataset,
} from "../../trainer/src/data/dataset.ts";

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
    expect(error.message).toContain('"customerID", "tenure", "Contract"');
  });

  it("rejects a target without exactly two values, or an unknown positive label", async () => {
    const three = `${telcoLike}\n9999-XXXXX,5,One year,20,100,Maybe`;
    expect((await errorOf(fromText(three, { target: "Churn", positive: "Yes" }))).message).toMatch(
      /exactly 2 distinct values.*found 3.*"Maybe"/,
    );
    const one = telcoLike.replace(",Yes", ",No");
    expect((await errorOf(fromText(one, { target: "Churn", positive: "No" }))).message).toMatch(
      /only one value \("No" \(line 2, 3, 4, …\)\)/,
    );
    expect((await errorOf(fromText(telcoLike, { target: "Churn", positive: "1" }))).message).toMatch(
      /"1" is not a value of target "Churn".*"No" and "Yes"/,
    );
  });

  it("names the lines of a missing target, and leaves those rows out when asked", async () => {
    const blank = `${telcoLike}\n1234-ABCDE,3,One year,20,60, \n1235-ABCDE,4,One year,21,61,NA`;
    expect((await errorOf(fromText(blank, { target: "Churn", positive: "Yes" }))).message).toMatch(
      /missing in 2 row\(s\), at CSV line\(s\) 6, 7; .*--drop-missing-target/,
    );
    const ds = await fromText(blank, { target: "Churn", positive: "Yes", dropMissingTarget: true });
    expect(ds.rowCount).toBe(4);
    expect([...ds.lines]).toEqual([2, 3, 4, 5]);
    expect([...ds.sourceRows!]).toEqual([0, 1, 2, 3]);
    expect(ds.reading.missingTargetRows).toEqual({ count: 2, lines: [6, 7] });
    expect(ds.warnings.join()).toMatch(/Left out 2 row\(s\) whose target is missing \(CSV lines 6, 7\)/);
  });

  it("names where each extra target value occurs", async () => {
    const text = `${telcoLike}\n9999-XXXXX,5,One year,20,100,Maybe\n9998-XXXXX,5,One year,20,100,Maybe`;
    expect((await errorOf(fromText(text, { target: "Churn", positive: "Yes" }))).message).toMatch(
      /"Maybe" \(line 6, 7\)/,
    );
  });

  it("matches the positive label ignoring case or as the same number, and a padded target header", async () => {
    const text = "plan, Exited \na,1.0\nb,0.0\na,1.0\nb,0.0\n";
    const ds = await fromText(text, { target: "Exited", positive: "1" });
    expect(ds.target).toMatchObject({ column: " Exited ", positive: "1.0", negative: "0.0" });
    expect(ds.warnings.join()).toMatch(/matched the header " Exited " after trimming/);
    expect((await fromText(telcoLike, { target: "Churn", positive: "yes" })).target.positive).toBe("Yes");
  });

  it("types a column that is numeric apart from placeholder words as numeric, and reports those cells", async () => {
    const lines = ["age,plan,churn"];
    for (let i = 0; i < 40; i++) lines.push(`${20 + i},basic,${i % 2 ? "yes" : "no"}`);
    for (let i = 0; i < 8; i++) lines.push(`unknown,pro,${i % 2 ? "yes" : "no"}`);
    const ds = await fromText(lines.join("\n"), { target: "churn", positive: "yes" });
    const age = ds.features.find((f) => f.name === "age")!;
    expect(age.kind).toBe("numeric");
    expect(age.missing).toBe(8);
    expect(ds.warnings.join()).toMatch(/"age": 8 of 48 cells are not numbers .*"unknown" at CSV line 42/);
    expect(ds.reading.columns.find((c) => c.name === "age")).toMatchObject({
      type: "numeric",
      unparsed: 8,
      unparsedExamples: ["unknown"],
    });
  });

  it("refuses text in a column typed numeric, naming the column and a line", async () => {
    const lines = ["age,plan,churn"];
    for (let i = 0; i < 20; i++) lines.push(`${20 + i},basic,${i % 2 ? "yes" : "no"}`);
    lines.push("unknown,pro,yes", "unknown,pro,no");
    const error = await errorOf(
      fromText(lines.join("\n"), { target: "churn", positive: "yes", schema: { age: "numeric" } }),
    );
    expect(error.message).toMatch(/Column "age" is typed numeric .* "unknown" at CSV line 22/);
  });

  it("reads the default missing-value markers as missing, and more on request", async () => {
    const rows = ["x,plan,churn"];
    const markers = ["NA", "N/A", "NaN", "null", "NULL", "None", "?", "-", "", " "];
    for (let i = 0; i < 60; i++)
      rows.push(`${i < markers.length ? markers[i] : i},p${i % 3},${i % 2 ? "y" : "n"}`);
    rows.push("missing,p1,y");
    const ds = await fromText(rows.join("\n"), { target: "churn", positive: "y", naValues: ["missing"] });
    const x = ds.features.find((f) => f.name === "x")!;
    expect(x.kind).toBe("numeric");
    expect(x.missing).toBe(markers.length + 1);
    expect(ds.reading.naMarkers).toMatchObject({ NA: 1, "N/A": 1, "?": 1, "-": 1, "": 2, missing: 1 });
    expect(ds.warnings.join()).not.toMatch(/not numbers/);
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
    expect(ds.warnings.join()).not.toMatch(/not numbers/); // "n/a" is a missing-value marker
    expect(code!.kind).toBe("categorical");
  });

  it("keeps any header as written, makes repeats unique, and derives plain graph input names", async () => {
    const text = "Account length,Call  Failure,Tarif (€),plan,plan,,churn\n1,2,3,a,x,k,yes\n2,3,4,b,y,k,no\n";
    const ds = await fromText(text, { target: "churn", positive: "yes" });
    expect(ds.features.map((f) => f.name)).toEqual([
      "Account length",
      "Call  Failure",
      "Tarif (€)",
      "plan",
      "plan.1",
      "Column 6",
    ]);
    expect(ds.features.map((f) => f.input)).toEqual([
      "Account_length",
      "Call_Failure",
      "Tarif",
      "plan",
      "plan_1",
      "Column_6",
    ]);
    expect(ds.reading.headerRenames).toEqual([
      { column: 5, from: "plan", to: "plan.1", reason: "repeated header" },
      { column: 6, from: "", to: "Column 6", reason: "blank header" },
    ]);
    const dropped = await fromText(text, {
      target: "churn",
      positive: "yes",
      drop: ["Account length,plan.1"],
    });
    expect(dropped.features.map((f) => f.name)).not.toContain("plan.1");
    expect(dropped.features.map((f) => f.name)).not.toContain("Account length");
  });

  it("rejects unknown --drop columns and header-only files", async () => {
    await expect(fromText(telcoLike, { target: "Churn", positive: "Yes", drop: ["nope"] })).rejects.toThrow(
      /Cannot drop column "nope"/,
    );
    await expect(fromText("a,b\n", { target: "b", positive: "x" })).rejects.toThrow(/no data rows/);
  });
});

describe("rows as spreadsheets write them", () => {
  it("skips rows of nothing but separators, and pads short rows or trims empty trailing cells", async () => {
    const text = ["a,b,plan,churn", "1,2,x,yes", ",,,", "3,4,y,no", "5,6,x", "7,8,y,no,,", "9,1,x,yes"].join(
      "\n",
    );
    const ds = await loadDataset([text], { target: "churn", positive: "yes", dropMissingTarget: true });
    expect(ds.reading.blankRows).toEqual({ count: 1, lines: [3] });
    expect(ds.reading.fittedRows).toEqual({ count: 2, lines: [5, 6] });
    // The padded row lacks its target and is left out on request; the rest are kept.
    expect(ds.rowCount).toBe(4);
    expect(ds.reading.rowsRead).toBe(6);
    // Data rows as a split file counts them: the blank row and the unlabelled one are skipped.
    expect([...ds.sourceRows!]).toEqual([0, 2, 4, 5]);
    await expect(loadDataset(["a,b\n1,2\n3,4,5\n"], { target: "b", positive: "2" })).rejects.toThrow(
      /line 3: expected 2 cells/,
    );
  });
});
