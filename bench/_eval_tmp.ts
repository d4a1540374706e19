import { loadDataset } from "../trainer/src/dataset.ts";
import { batchFromDataset } from "../trainer/src/features.ts";
import { logLoss, rocAuc } from "../trainer/src/metrics.ts";
import { fitGbdt } from "../trainer/src/models/gbdt/model.ts";
import { GBDT_DEFAULTS, type GbdtParams } from "../trainer/src/models/gbdt/params.ts";
import { sigmoid } from "../trainer/src/models/model.ts";
import { loadSplit } from "../trainer/src/split.ts";

const sets = {
  telco: {
    csv: "../shared/data/telco/WA_Fn-UseC_-Telco-Customer-Churn.csv",
    split: "../shared/data/telco/split.json",
    target: "Churn",
    positive: "Yes",
    drop: ["customerID"],
  },
  bank: {
    csv: "../shared/data/bank/Churn_Modelling.csv",
    split: "../shared/data/bank/split.json",
    target: "Exited",
    positive: "1",
    drop: ["RowNumber", "CustomerId", "Surname"],
  },
};
const grid: Partial<GbdtParams>[] = JSON.parse(process.argv[2] ?? "[{}]");
for (const [name, s] of Object.entries(sets)) {
  const ds = await loadDataset(s.csv, { target: s.target, positive: s.positive, drop: s.drop });
  const split = await loadSplit(s.split, ds.rowCount);
  const batch = batchFromDataset(ds, split.test);
  const y = Uint8Array.from(split.test, (r) => ds.target.y[r]!);
  for (const g of grid) {
    const t = performance.now();
    const model = fitGbdt({ dataset: ds, rows: split.train }, { ...GBDT_DEFAULTS, ...g });
    const ms = performance.now() - t;
    const m = model.predictMargin(batch);
    const p = Array.from(m, sigmoid);
    console.log(
      name,
      JSON.stringify(g),
      "auc",
      rocAuc(y, m).toFixed(4),
      "logloss",
      logLoss(y, p).toFixed(4),
      "trees",
      model.params["trees"],
      "ms",
      ms.toFixed(0),
    );
  }
}
