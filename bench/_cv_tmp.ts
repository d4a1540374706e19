import { loadDataset } from "../trainer/src/dataset.ts";
import { batchFromDataset } from "../trainer/src/features.ts";
import { rocAuc } from "../trainer/src/metrics.ts";
import { fitGbdt } from "../trainer/src/models/gbdt/model.ts";
import { GBDT_DEFAULTS, type GbdtParams } from "../trainer/src/models/gbdt/params.ts";
import { createRandom, shuffleInPlace } from "../trainer/src/random.ts";
import { loadSplit } from "../trainer/src/split.ts";

const sets: Record<string, any> = {
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
const which = process.argv[2]!;
const s = sets[which];
const grid: Partial<GbdtParams>[] = JSON.parse(process.argv[3] ?? "[{}]");
const ds = await loadDataset(s.csv, { target: s.target, positive: s.positive, drop: s.drop });
const split = await loadSplit(s.split, ds.rowCount);
// stratified 5 folds over train rows
const rnd = createRandom(Number(process.env.FOLD_SEED ?? 123));
const folds: number[][] = [[], [], [], [], []];
for (const cls of [0, 1]) {
  const rows = shuffleInPlace(
    split.train.filter((r) => ds.target.y[r] === cls),
    rnd,
  );
  rows.forEach((r, i) => folds[i % 5]!.push(r));
}
for (const g of grid) {
  const aucs: number[] = [];
  for (let k = 0; k < 5; k++) {
    const test = folds[k]!;
    const train = folds.flatMap((f, j) => (j === k ? [] : f));
    const model = fitGbdt({ dataset: ds, rows: train }, { ...GBDT_DEFAULTS, ...g });
    aucs.push(
      rocAuc(
        Uint8Array.from(test, (r) => ds.target.y[r]!),
        model.predictMargin(batchFromDataset(ds, test)),
      ),
    );
  }
  const mean = aucs.reduce((a, b) => a + b) / 5;
  console.log(which, JSON.stringify(g), "cv auc", mean.toFixed(4), aucs.map((a) => a.toFixed(3)).join(" "));
}
