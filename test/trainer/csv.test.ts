import { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import { ChurnError } from "../../shared/src/errors.ts";
import { type CsvRecord, parseCsvText, readCsv } from "../../trainer/src/csv.ts";

async function collect(chunks: (string | Uint8Array)[]): Promise<CsvRecord[]> {
  const out: CsvRecord[] = [];
  for await (const r of readCsv(Readable.from(chunks))) out.push(r);
  return out;
}

const cells = (records: CsvRecord[]) => records.map((r) => r.cells);

describe("readCsv", () => {
  it("handles quoted commas, doubled quotes and embedded newlines", async () => {
    const text = 'id,note,n\n1,"a, b",2\n2,"say ""hi""",3\n3,"two\nlines",4\n';
    const records = await parseCsvText(text);
    expect(cells(records)).toEqual([
      ["id", "note", "n"],
      ["1", "a, b", "2"],
      ["2", 'say "hi"', "3"],
      ["3", "two\nlines", "4"],
    ]);
    // The record after a multi-line field starts on a later physical line.
    expect(records.map((r) => r.line)).toEqual([1, 2, 3, 4]);
  });

  it("accepts CRLF line endings and strips a BOM", async () => {
    const records = await parseCsvText('\uFEFFa,b\r\n1,"x\r\ny"\r\n2,3\r\n');
    expect(cells(records)).toEqual([
      ["a", "b"],
      ["1", "x\r\ny"],
      ["2", "3"],
    ]);
  });

  it("strips a BOM given as bytes and decodes UTF-8 split across chunks", async () => {
    const bytes = new TextEncoder().encode("\uFEFFname,city\nZoë,Köln\n");
    const chunks = Array.from(bytes, (b) => Uint8Array.of(b));
    expect(cells(await collect(chunks))).toEqual([
      ["name", "city"],
      ["Zoë", "Köln"],
    ]);
  });

  it("gives the same records however the input is chunked", async () => {
    const text = 'a,b,c\r\n"x,""y""",,z\r\n"multi\r\nline","",3\n\nlast,row,"end"';
    const whole = cells(await parseCsvText(text));
    expect(whole).toEqual([
      ["a", "b", "c"],
      ['x,"y"', "", "z"],
      ["multi\r\nline", "", "3"],
      ["last", "row", "end"],
    ]);
    for (const size of [1, 2, 3, 5, 7]) {
      const chunks: string[] = [];
      for (let i = 0; i < text.length; i += size) chunks.push(text.slice(i, i + size));
      expect(cells(await collect(chunks))).toEqual(whole);
    }
  });

  it("names the line and the cell counts of a ragged row", async () => {
    const text = 'a,b,c\n1,2,3\n"multi\nline",5,6\n7,8\n';
    const error = await parseCsvText(text).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ChurnError);
    expect((error as ChurnError).code).toBe("INVALID_REQUEST");
    expect((error as Error).message).toMatch(/line 5/);
    expect((error as Error).message).toMatch(/expected 3 cells .* found 2/);
  });

  it("rejects an empty input and an unterminated quote", async () => {
    await expect(parseCsvText("")).rejects.toThrow(/empty/);
    await expect(parseCsvText("\uFEFF\n\n")).rejects.toThrow(/empty/);
    await expect(parseCsvText('a,b\n1,"open\n')).rejects.toThrow(/line 2: quoted field is never closed/);
  });

  it("rejects text after a closing quote", async () => {
    await expect(parseCsvText('a,b\n"x"y,1\n')).rejects.toThrow(/line 2: unexpected character/);
  });
});
