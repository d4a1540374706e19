import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Manifest } from "#shared/manifest.ts";
import type { PredictResponse } from "#shared/predict.ts";
import { createApiClient } from "../../control-plane/src/modules/identity/api-clients.ts";
import { createTenant } from "../../control-plane/src/modules/identity/tenants.ts";
import { type Platform, startPlatform } from "../../scripts/lib/platform.ts";
import { main } from "../../trainer/src/cli/main.ts";
import { parseCsvText } from "../../trainer/src/data/csv.ts";
import { parseNumber } from "../../trainer/src/data/dataset.ts";
import { clientCredentialsToken } from "../../trainer/src/remote/control-plane-client.ts";
import {
  bomAndQuotes,
  europeanExcel,
  latin1,
  looseTarget,
  messyHeaders,
  missingMarkers,
  moneyFormatted,
  type Quirk,
  readTable,
  rowNumbers,
  SHARED_DATA,
  separatedBy,
  type Table,
  type Variant,
  variant,
} from "../helpers/quirky-csv.ts";

const ROWS = 2000;
const LONG_NAME =
  "Type of contract the customer signed at the last renewal, as recorded by the billing system in the monthly export file";

function captureIo() {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { out: (t: string) => out.push(t), err: (t: string) => err.push(t) }, out, err };
}

interface Trained {
  code: number;
  err: string;
  dir: string;
  result?: {
    metrics: Record<string, number>;
    manifest: Manifest;
    data: { separator: string; encoding: string; decimal: string; rowsRead: number; rowsKept: number };
  };
}

/**
 * Real churn files as their owners export them, each quirk alone and all together, trained with only the
 * flags a file's owner would give. A quirk alone must change nothing: the same rows and values reach the
 * model, so a deterministic fit (logistic regression, fixed penalty, no calibration) scores the holdout the
 * same as on the clean file.
 */
describe("real-world churn CSVs, as they are found", () => {
  let dir: string;
  let telco: Table;
  let bank: Table;
  let platform: Platform;

  async function trainVariant(v: Variant, extra: string[]): Promise<Trained> {
    const path = join(dir, `${v.name}.csv`);
    await writeFile(path, v.bytes);
    const out = join(dir, v.name);
    const { io, out: stdout, err } = captureIo();
    const code = await main(["train", "--data", path, "--out", out, ...v.args, ...extra, "--json"], io);
    return {
      code,
      err: err.join(""),
      dir: out,
      ...(code === 0 ? { result: JSON.parse(stdout.join("")) as Trained["result"] } : {}),
    };
  }

  const deterministic = [
    "--model",
    "logistic_regression",
    "--l2",
    "1",
    "--calibration",
    "none",
    "--no-ensemble",
    "--seed",
    "7",
  ];
  const telcoArgs = ["--target", "Churn", "--positive", "Yes"];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "churn-real-csv-"));
    telco = await readTable(join(SHARED_DATA, "telco/WA_Fn-UseC_-Telco-Customer-Churn.csv"), ROWS);
    bank = await readTable(join(SHARED_DATA, "bank/Churn_Modelling.csv"), ROWS);
  });

  afterAll(async () => {
    await platform?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  describe("each quirk alone trains the same model as the clean file", () => {
    let clean: Trained;
    beforeAll(async () => {
      clean = await trainVariant(variant("clean", telco, [], telcoArgs), deterministic);
      expect(clean.code, clean.err).toBe(0);
    });

    const quirks: [string, Quirk[], string[]][] = [
      [
        "headers with spaces, accents, a long name and a repeat",
        [
          messyHeaders(
            {
              tenure: "Account length",
              MonthlyCharges: "Monthly  Charges",
              PaymentMethod: "Méthode de paiement",
              Contract: LONG_NAME,
            },
            ["StreamingMovies", "StreamingTV"],
          ),
        ],
        telcoArgs,
      ],
      ["semicolons, CRLF and decimal commas", [europeanExcel], telcoArgs],
      ["a BOM and every cell quoted", [bomAndQuotes], telcoArgs],
      [
        "money with currency symbols and grouped thousands",
        [moneyFormatted(["MonthlyCharges", "TotalCharges"])],
        telcoArgs,
      ],
      ["tab-separated", [separatedBy("\t")], telcoArgs],
      ["pipe-separated", [separatedBy("|")], telcoArgs],
      ["Latin-1 bytes", [latin1("PaymentMethod", "Electronic check", "Électronique")], telcoArgs],
      [
        "a padded target header, renamed labels and unlabelled rows",
        [looseTarget("Churn", { Yes: "Churned", No: "Stayed" }, "churned")],
        ["--target", "Churn"],
      ],
      ["a row-number column", [rowNumbers], telcoArgs],
    ];

    it.each(quirks)("%s", async (name, quirk, args) => {
      const trained = await trainVariant(
        variant(name.replace(/\W+/g, "-"), telco, quirk, args),
        deterministic,
      );
      expect(trained.code, trained.err).toBe(0);
      const { metrics } = trained.result!;
      for (const key of ["roc_auc", "log_loss", "pr_auc"]) {
        expect(metrics[key], key).toBeCloseTo(clean.result!.metrics[key]!, 6);
      }
      expect(trained.result!.data.rowsKept).toBe(ROWS);
    });

    it("missing-value markers read as the blanks they stand for", async () => {
      const columns = ["TotalCharges", "MonthlyCharges", "tenure"];
      const blanks = await trainVariant(
        variant("blanks", telco, [missingMarkers(columns, [""])], telcoArgs),
        deterministic,
      );
      const markers = await trainVariant(
        variant("markers", telco, [missingMarkers(columns)], telcoArgs),
        deterministic,
      );
      expect(markers.code, markers.err).toBe(0);
      expect(markers.result!.metrics["roc_auc"]).toBeCloseTo(blanks.result!.metrics["roc_auc"]!, 6);
      expect(markers.result!.metrics["log_loss"]).toBeCloseTo(blanks.result!.metrics["log_loss"]!, 6);
    });

    it("names what it refuses: bytes that are not UTF-8, a column that gives the target away", async () => {
      const notUtf8 = variant(
        "latin1-unsaid",
        telco,
        [latin1("PaymentMethod", "Electronic check", "Électronique")],
        telcoArgs,
      );
      notUtf8.args.splice(notUtf8.args.indexOf("--encoding"), 2);
      const refused = await trainVariant(notUtf8, deterministic);
      expect(refused.code).toBe(1);
      expect(refused.err).toMatch(/not UTF-8: byte 0xC9 on line \d+ .*--encoding latin1/);

      const leaky: Quirk = (s) => {
        const churn = s.table.header.indexOf("Churn");
        s.table.header.push("Cancellation date");
        for (const row of s.table.rows) row.push(row[churn] === "Yes" ? "2020-03-01" : "");
      };
      const leak = await trainVariant(variant("leaky", telco, [leaky], telcoArgs), deterministic);
      expect(leak.code).toBe(1);
      expect(leak.err).toMatch(/Probable target leakage: "Cancellation date" \(ROC-AUC 1\.000\)/);
      const dropped = await trainVariant(variant("leaky", telco, [leaky], telcoArgs), [
        ...deterministic,
        "--drop",
        "Cancellation date",
      ]);
      expect(dropped.code, dropped.err).toBe(0);
      expect(dropped.result!.metrics["roc_auc"]).toBeCloseTo(clean.result!.metrics["roc_auc"]!, 6);
    });
  });

  describe("every quirk at once: train → publish → deploy → predict at the edge by the original headers", () => {
    beforeAll(async () => {
      platform = await startPlatform({
        dataDir: join(dir, "platform"),
        controlPlanePort: 0,
        edgePort: 0,
        demoRows: 1200,
        demoTimeBudget: 5,
      });
    });

    const cases: {
      name: string;
      table: () => Table;
      quirks: Quirk[];
      args: string[];
      target: string;
      id: string;
      /** What the trainer must report about reading the file. */
      read: Record<string, unknown>;
    }[] = [
      {
        name: "telco",
        table: () => telco,
        quirks: [
          messyHeaders(
            {
              tenure: "Account length",
              MonthlyCharges: "Monthly  Charges",
              PaymentMethod: "Méthode de paiement",
            },
            ["StreamingMovies", "StreamingTV"],
          ),
          missingMarkers(["TotalCharges", "Monthly  Charges"]),
          latin1("Méthode de paiement", "Electronic check", "Électronique"),
          europeanExcel,
          bomAndQuotes,
          looseTarget("Churn", { Yes: "Churned", No: "Stayed" }, "CHURNED"),
          rowNumbers,
        ],
        args: ["--target", "Churn"],
        target: "Churn",
        id: "customerID",
        read: {
          separator: ";",
          encoding: "latin1",
          bom: false,
          decimal: ",",
          lineEndings: "CRLF",
          rowsRead: ROWS + 3,
        },
      },
      {
        name: "bank",
        table: () => bank,
        quirks: [
          messyHeaders({
            CreditScore: "Credit score",
            NumOfProducts: "Num. of products",
            EstimatedSalary: "Salaire estimé",
          }),
          missingMarkers(["Balance", "Credit score"]),
          separatedBy("\t"),
          looseTarget("Exited", { "1": "Attrited Customer", "0": "Existing Customer" }, "attrited customer"),
        ],
        args: ["--target", "Exited"],
        target: "Exited",
        id: "CustomerId",
        read: { separator: "\t", encoding: "utf-8", decimal: ".", rowsRead: ROWS + 3 },
      },
    ];

    it.each(cases)("$name", async ({ name, table, quirks, args, target, id, read }) => {
      const clean = table();
      const v = variant(`${name}-together`, clean, quirks, args);
      const trained = await trainVariant(v, ["--time-budget", "15", "--name", `${name}-quirky`]);
      expect(trained.code, trained.err).toBe(0);
      const manifest = trained.result!.manifest;
      const names = manifest.features.map((f) => f.name);
      for (const renamed of v.names.values())
        if (renamed !== v.names.get(target)) expect(names).toContain(renamed);
      expect(manifest.features.every((f) => f.input === undefined || /^[A-Za-z_]\w*$/.test(f.input))).toBe(
        true,
      );
      expect(trained.result!.data.rowsKept).toBe(clean.rows.length);
      expect(trained.result!.data).toMatchObject(read);

      const tenant = await createTenant(platform.deps.db, {
        name: `Quirky ${name}`,
        ownerEmail: `owner@${name}.quirky.test`,
        ownerName: "Owner",
      });
      const client = await createApiClient(
        platform.deps.db,
        { actor: { type: "user", id: tenant.ownerId }, requestId: null, ip: null, userAgent: null },
        { tenantId: tenant.tenantId, name: "crm", scopes: ["predict"] },
      );
      const publish = captureIo();
      const publishArgs = ["publish", trained.dir, "--deploy", "--url", platform.state.controlPlaneUrl];
      expect(
        await main([...publishArgs, "--token", tenant.ownerToken], publish.io),
        publish.err.join(""),
      ).toBe(0);

      // Records keyed by the headers as the file writes them, values as a CRM would send them.
      const records = clean.rows.slice(0, 5).map((row) => {
        const record: Record<string, string | number | null> = {};
        manifest.features.forEach((f) => {
          const cleanName = [...v.names.entries()].find(([, n]) => n === f.name)?.[0] ?? f.name;
          const cell = row[clean.header.indexOf(cleanName)]!.trim();
          if (f.type === "numeric") record[f.name] = cell === "" ? null : parseNumber(cell);
          else record[f.name] = cell === "Electronic check" ? "Électronique" : cell;
        });
        return record;
      });
      const token = await clientCredentialsToken(
        platform.state.controlPlaneUrl,
        client.client.id,
        client.clientSecret,
      );
      const res = await fetch(`${platform.state.edgeUrl}/v1/predict`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: JSON.stringify({ records, explain: true, topReasons: 20 }),
      });
      expect(res.status, await res.clone().text()).toBe(200);
      const body = (await res.json()) as PredictResponse;
      expect(body.model.name).toBe(`${name}-quirky`);
      const reasons = new Set(body.predictions.flatMap((p) => p.reasons!.map((r) => r.feature)));
      for (const reason of reasons) expect(names).toContain(reason);
      expect([...reasons].some((r) => /\s|[^\x20-\x7e]/.test(r))).toBe(true);

      // churn predict reads the same quirky file and agrees with the edge on those customers.
      const scored = join(dir, `${name}-scored.csv`);
      const predictRun = captureIo();
      const encoding = v.args.includes("--encoding") ? ["--encoding", "latin1"] : [];
      expect(
        await main(
          [
            "predict",
            "--model",
            trained.dir,
            "--data",
            join(dir, `${v.name}.csv`),
            "--out",
            scored,
            "--id",
            id,
            ...encoding,
          ],
          predictRun.io,
        ),
        predictRun.err.join(""),
      ).toBe(0);
      const [, ...lines] = await parseCsvText(await readFile(scored, "utf8"));
      body.predictions.forEach((p, i) => {
        expect(Math.abs(Number(lines[i]!.cells[1]) - p.probability)).toBeLessThan(1e-5);
      });
    });
  });
});
