import { mkdir, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import { toCsv } from "../../data/csv-writer.ts";
import { generateTelco, SCENARIOS, type Scenario, TELCO_COLUMNS } from "../../data/synthetic.ts";
import { DEFAULT_SEED } from "../../pipeline/train-options.ts";
import { type Command, choice, integerFlag, required, UsageError } from "../flags.ts";

export const synthCommand: Command = {
  summary: "Write synthetic customers with the IBM Telco churn schema to a CSV",
  usage: `churn synth --out <csv> [--rows n] [--seed s] [--scenario <name>]

  --out <csv>         file to write
  --rows <n>          number of customers (default 7043, the size of the real data set)
  --seed <s>          random seed (default ${DEFAULT_SEED})
  --scenario <name>   drifted data: ${SCENARIOS.join(", ")} (see docs/trainer.md)`,
  options: {
    out: { type: "string" },
    rows: { type: "string" },
    seed: { type: "string" },
    scenario: { type: "string" },
  },
  async run(values, io) {
    const out = required(values, "out");
    const rows = values.rows === undefined ? 7043 : integerFlag(values, "rows");
    if (rows < 1) throw new UsageError("--rows must be at least 1");
    const seed = values.seed === undefined ? DEFAULT_SEED : integerFlag(values, "seed");
    await mkdir(dirname(out), { recursive: true });
    const scenario =
      values.scenario === undefined ? undefined : (choice(values, "scenario", SCENARIOS) as Scenario);
    await writeFile(out, toCsv(generateTelco(rows, seed, scenario), TELCO_COLUMNS));
    io.out(`wrote ${rows} synthetic customers${scenario ? ` (${scenario})` : ""} to ${out}\n`);
    return 0;
  },
};
