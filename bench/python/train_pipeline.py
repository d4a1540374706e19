"""Trains the Python side of bench/predict.ts and saves it with joblib (not timed).

The usual Python churn service's model: pandas -> scikit-learn ColumnTransformer (one-hot for text
columns, numbers passed through) -> XGBoost 1.7 hist. Its shape comes from --params, the same JSON
`churn train --model gbdt --params` gets on the other side (bench/predict.ts: 100 trees of depth 6,
learning rate 0.1, every row and column), mapped to XGBoost's names here. It learns from the rows
split.json names for training, the rows `churn train` learns from on the other side.

    python3 bench/python/train_pipeline.py --data CSV --split JSON --target Churn --positive Yes \
        --id customerID --params '{"rounds": 100, "maxDepth": 6, ...}' --out MODEL.joblib
"""

import argparse
import json

import joblib
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder
from xgboost import XGBClassifier


def main() -> None:
    parser = argparse.ArgumentParser()
    for flag in ("--data", "--split", "--target", "--positive", "--id", "--params", "--out"):
        parser.add_argument(flag, required=True)
    args = parser.parse_args()

    frame = pd.read_csv(args.data)
    with open(args.split, encoding="utf-8") as f:
        frame = frame.iloc[json.load(f)["train"]]
    y = (frame[args.target].astype(str) == args.positive).astype(int)
    x = frame.drop(columns=[args.target, args.id])

    # A column pandas reads as text but that holds numbers (Telco's TotalCharges has blank cells) is
    # numeric, as any Python pipeline for this data makes it.
    numeric, categorical = [], []
    for column in x.columns:
        converted = pd.to_numeric(x[column], errors="coerce")
        if converted.notna().mean() > 0.95:
            numeric.append(column)
            x[column] = converted
        else:
            categorical.append(column)

    features = ColumnTransformer(
        [
            ("categorical", OneHotEncoder(handle_unknown="ignore"), categorical),
            ("numeric", "passthrough", numeric),
        ]
    )
    p = json.loads(args.params)
    # n_jobs left at XGBoost's default (every core), as the pipeline runs when nobody tunes it.
    model = XGBClassifier(
        tree_method="hist",
        n_estimators=p["rounds"],
        max_depth=p["maxDepth"],
        learning_rate=p["learningRate"],
        grow_policy=p["growth"],
        # XGBoost's max_bin counts value bins (missing values have none); ours are value bins with the
        # missing bin on top, so the same number gives the same candidate splits.
        max_bin=p["maxBins"],
        reg_lambda=p["lambda"],
        reg_alpha=0,
        gamma=p["gamma"],
        min_child_weight=p["minChildWeight"],
        subsample=p["subsample"],
        colsample_bytree=p["colsampleByTree"],
        # The first margin is the positive rate's log-odds, as in the TypeScript booster.
        base_score=float(y.mean()),
    )
    pipeline = Pipeline([("features", features), ("model", model)])
    pipeline.fit(x, y)
    joblib.dump({"pipeline": pipeline, "numeric": numeric, "id": args.id}, args.out)
    # What was fitted, for the results file: the tree count and the XGBoost settings that shape it.
    settings = model.get_params()
    shape = [
        "n_estimators",
        "max_depth",
        "learning_rate",
        "grow_policy",
        "max_bin",
        "reg_lambda",
        "gamma",
        "min_child_weight",
        "subsample",
        "colsample_bytree",
        "tree_method",
        "n_jobs",
    ]
    fitted = {
        "trees": model.get_booster().num_boosted_rounds(),
        "xgboost": {k: settings[k] for k in shape},
    }
    print(json.dumps(fitted))


if __name__ == "__main__":
    main()
