import { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import { ChurnError } from "#shared/errors.ts";
import {
  type CsvDialect,
  type CsvRecord,
  parseCsvText,
  readCsv,
  readCsvChunks,
} from "../../trainer/src/data/csv.ts";
import { openTable } from "../../trainer/src/data/table.ts";

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

describe("reading files as they are found", () => {
  const dialectOf = async (input: string | Uint8Array, options: Parameters<typeof readCsv>[1] = {}) => {
    let dialect: CsvDialect | undefined;
    const records: CsvRecord[] = [];
    for await (const r of readCsv([input], { ...options, onDialect: (d) => (dialect = d) })) records.push(r);
    return { dialect: dialect!, records };
  };

  it.each([
    [",", 'a,b,c\r\n1,"x,y",3\r\n'],
    [";", 'a;b;c\r\n1;"x;y";3,5\r\n2;z;4,25\r\n'],
    ["\t", "a\tb\tc\n1\tx, y; z\t3\n"],
    ["|", "a|b|c\n1|x,y|3\n"],
  ])(
    "detects the separator %j, quoted separators and other marks inside fields notwithstanding",
    async (sep, text) => {
      const { dialect, records } = await dialectOf(text);
      expect(dialect.separator).toBe(sep);
      expect(dialect.separatorDetected).toBe(true);
      expect(records[0]!.cells).toEqual(["a", "b", "c"]);
      expect(records[1]!.cells).toHaveLength(3);
    },
  );

  it("prefers the separator that agrees with the header over decimal commas inside rows", async () => {
    // Each data row has exactly one decimal comma, so commas alone would split every row the same way.
    const { dialect } = await dialectOf("name;amount\nx;3,14\ny;2,5\n");
    expect(dialect.separator).toBe(";");
  });

  it("follows Excel's sep= first line, which is not data, and keeps counting lines from the file's first", async () => {
    const { dialect, records } = await dialectOf("sep=;\r\na;b\r\n1,5;2\r\n");
    expect(dialect).toMatchObject({ separator: ";", separatorDetected: true });
    expect(records.map((r) => r.cells)).toEqual([
      ["a", "b"],
      ["1,5", "2"],
    ]);
    expect(records.map((r) => r.line)).toEqual([2, 3]);
  });

  it("takes a separator the caller names, and says which line endings the file has", async () => {
    const { dialect, records } = await dialectOf("a;b\r\n1;2\r\n", { separator: ";" });
    expect(dialect).toMatchObject({ separator: ";", separatorDetected: false, lineEndings: "CRLF" });
    expect(records[1]!.cells).toEqual(["1", "2"]);
  });

  it("refuses bytes that are not UTF-8, naming the line and the way out, and reads them as Latin-1 on request", async () => {
    const latin1 = Uint8Array.from([
      ...new TextEncoder().encode("name,city\nx,K"),
      0xf6,
      ...new TextEncoder().encode("ln\n"),
    ]);
    const error = await dialectOf(latin1).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ChurnError);
    expect((error as Error).message).toMatch(/not UTF-8: byte 0xF6 on line 2 .*--encoding latin1/);
    const { dialect, records } = await dialectOf(latin1, { encoding: "latin1" });
    expect(dialect.encoding).toBe("latin1");
    expect(records[1]!.cells).toEqual(["x", "Köln"]);
  });

  it("reads UTF-16 files by their byte-order mark (Excel's Unicode text)", async () => {
    const text = "a\tb\r\n1\tZoë\r\n";
    const bytes = new Uint8Array(2 + text.length * 2);
    bytes.set([0xff, 0xfe]);
    for (let i = 0; i < text.length; i++) bytes[2 + 2 * i] = text.charCodeAt(i);
    const { dialect, records } = await dialectOf(bytes);
    expect(dialect).toMatchObject({ encoding: "utf-16le", bom: true, separator: "\t" });
    expect(records[1]!.cells).toEqual(["1", "Zoë"]);
  });
});

describe("readCsvChunks and openTable's chunks", () => {
  /** Text of `n` records whose quoted fields hold separators and line breaks, cut into pieces. */
  function pieces(n: number, size: number): string[] {
    let text = "id,note,amount\n";
    for (let i = 0; i < n; i++) text += `${i},"a, ""b""\nc${i}",${i % 7 === 0 ? "" : (i * 1.5).toFixed(1)}\n`;
    return Array.from({ length: Math.ceil(text.length / size) }, (_, k) =>
      text.slice(k * size, (k + 1) * size),
    );
  }

  it("hands over the records readCsv yields, in order and with their lines, in non-empty runs", async () => {
    for (const size of [7, 1000, 1 << 20]) {
      const one = await collect(pieces(2500, size));
      const runs: CsvRecord[][] = [];
      for await (const run of readCsvChunks(Readable.from(pieces(2500, size)))) runs.push(run);
      expect(runs.every((run) => run.length > 0)).toBe(true);
      expect(runs.flat()).toEqual(one);
    }
  });

  it("streams every data record once through chunks, the records read ahead for sniffing included", async () => {
    const table = await openTable(Readable.from(pieces(2500, 4096)));
    expect(table.header).toEqual(["id", "note", "amount"]);
    const ids: string[] = [];
    for await (const run of table.chunks) for (const record of run) ids.push(record.cells[0]!);
    expect(ids).toEqual(Array.from({ length: 2500 }, (_, i) => String(i)));
  });

  it("reports an unclosed quote after the records before it", async () => {
    const seen: string[] = [];
    await expect(async () => {
      for await (const run of readCsvChunks(['a,b\n1,2\n3,"open\n']))
        for (const r of run) seen.push(r.cells[0]!);
    }).rejects.toThrow(/line 3: quoted field is never closed/);
    expect(seen).toEqual(["a", "1"]);
  });
});
