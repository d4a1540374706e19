import { describe, expect, it } from "vitest";
import { cellReader, sniffDecimalMark } from "../../trainer/src/data/cells.ts";

const records = (rows: string[][]) => rows.map((cells, i) => ({ line: i + 1, cells }));

describe("reading cells", () => {
  it("reads numbers with a decimal point, thousands grouped by commas where that is unambiguous", () => {
    const r = cellReader();
    expect(r.number("1234.5")).toBe(1234.5);
    expect(r.number("-.5e2")).toBe(-50);
    expect(r.number("1,234,567.89")).toBe(1234567.89);
    expect(r.number("1,234")).toBe(1234);
    expect(Number.isNaN(r.number("1,5"))).toBe(true);
    expect(Number.isNaN(r.number("12,34,56"))).toBe(true);
    expect(Number.isNaN(r.number("Infinity"))).toBe(true);
    expect(Number.isNaN(r.number("0x1F"))).toBe(true);
  });

  it("reads decimal commas, with points or spaces grouping thousands", () => {
    const r = cellReader({ decimal: "," });
    expect(r.number("3,14")).toBe(3.14);
    expect(r.number("1.234,5")).toBe(1234.5);
    expect(r.number("1 234 567,25")).toBe(1234567.25);
    expect(r.number("1\u00a0234,5")).toBe(1234.5);
    expect(r.number("1.234")).toBe(1234);
    expect(r.number("3.14")).toBe(3.14);
  });

  it("reads money and shares as the number written, and nothing that merely contains a symbol", () => {
    const r = cellReader();
    expect(r.number("$1,234.50")).toBe(1234.5);
    expect(r.number("-$5")).toBe(-5);
    expect(r.number("12%")).toBe(12);
    expect(r.number("12 %")).toBe(12);
    expect(r.number("€ 3")).toBe(3);
    expect(cellReader({ decimal: "," }).number("1.234,50 €")).toBe(1234.5);
    for (const t of ["$", "%", "$ab", "USD 5", "5$5", "--$5"])
      expect(Number.isNaN(r.number(t)), t).toBe(true);
  });

  it("knows the default missing-value markers and any the caller adds", () => {
    const r = cellReader({ naValues: ["unknown"] });
    for (const m of ["", "NA", "N/A", "NaN", "null", "NULL", "None", "?", "-", "#N/A", "unknown"]) {
      expect(r.missingMarker(m)).toBe(m);
    }
    expect(r.missingMarker("0")).toBeUndefined();
    expect(r.missingMarker("No")).toBeUndefined();
  });

  it("sniffs a decimal comma only in files not separated by commas", () => {
    const semicolon = records([
      ["a", "b"],
      ["3,14", "1,5"],
      ["2,71", "1.500"],
    ]);
    expect(sniffDecimalMark(semicolon, ";")).toBe(",");
    expect(sniffDecimalMark(semicolon, ",")).toBe(".");
    expect(
      sniffDecimalMark(
        records([
          ["3.14", "2,5"],
          ["1.5", "7"],
        ]),
        ";",
      ),
    ).toBe(".");
    // 1,500 could be either; alone it decides nothing.
    expect(sniffDecimalMark(records([["1,500"]]), ";")).toBe(".");
  });
});
